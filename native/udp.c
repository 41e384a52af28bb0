// sipline_udp: a UDP socket that reads and writes datagrams in batches (Linux recvmmsg/sendmmsg).
//
// Why: with node:dgram every datagram costs a recvmsg, a sendmsg, one more recvmsg that finds the
// queue empty, a C++ -> JS call with its tick/microtask checkpoint, a 64 KB allocation shrunk to
// the datagram, and an address object built property by property. On this class of VM a system
// call is dear (it traps to the hypervisor), so for a small SIP message that plumbing costs more
// than parsing and routing it. Here one readiness event reads up to BATCH datagrams with one
// recvmmsg into memory shared with JavaScript and calls JavaScript once for all of them; what the
// event loop queued for sending leaves with one sendmmsg.
//
// Memory shared with JavaScript (Buffers and Int32Arrays that JS allocates and hands over once):
//   receive area: BATCH slots of SLOT_BYTES; receive meta: META_INTS ints per slot:
//     [length, port, family (4|6), addr0, addr1, addr2, addr3, unused] (a slot holds the
//     largest UDP datagram, so nothing is truncated)
//     (IPv4: addr0 is the address as a host-order int; IPv6: addr0..3 are the 16 bytes as four
//     big-endian ints)
//   send area: bytes of the datagrams to send; send meta: META_INTS ints per datagram:
//     [offset, length, port, family (4|6), addr0, addr1, addr2, addr3]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define BATCH 32
#define SLOT_BYTES 65536
#define META_INTS 8
#define SEND_BATCH 256
// readiness events served by one wake-up before the loop gets its turn (libuv reads 32 datagrams)
#define MAX_ROUNDS 4

typedef struct queued {
  struct queued *next;
  struct sockaddr_storage to;
  socklen_t to_len;
  size_t length;
  unsigned char bytes[];
} queued_t;

typedef struct {
  uv_poll_t poll;
  int fd;
  int family;
  int closed;
  int events;
  napi_env env;
  napi_ref self;          // the JS object that owns this socket (receiver of the callbacks)
  napi_ref on_receive;    // (count) => void
  napi_ref on_error;      // (error: Error) => void
  napi_ref areas[4];      // keeps the shared buffers alive
  napi_async_context async;
  unsigned char *recv_area;
  int32_t *recv_meta;
  unsigned char *send_area;
  size_t send_area_bytes;
  int32_t *send_meta;
  size_t send_meta_ints;
  struct mmsghdr rmsg[BATCH];
  struct iovec riov[BATCH];
  struct sockaddr_storage rfrom[BATCH];
  queued_t *queue_head;   // datagrams the kernel refused with EAGAIN, sent when writable
  queued_t *queue_tail;
} udp_socket_t;

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) return throw_last(env);    \
  } while (0)

static napi_value throw_last(napi_env env) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, info && info->error_message ? info->error_message : "sipline_udp: N-API call failed");
  return NULL;
}

// An Error like node's own socket errors: message "syscall CODE address:port", .code, .errno, .syscall
static napi_value errno_error(napi_env env, int err, const char *syscall, const char *address, int port) {
  char message[256];
  const char *code = uv_err_name(uv_translate_sys_error(err));
  if (address != NULL) snprintf(message, sizeof message, "%s %s %s:%d", syscall, code, address, port);
  else snprintf(message, sizeof message, "%s %s", syscall, code);
  napi_value msg, error, value;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "code", value);
  napi_create_int32(env, -err, &value);
  napi_set_named_property(env, error, "errno", value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  return error;
}

static udp_socket_t *unwrap(napi_env env, napi_value object) {
  void *data = NULL;
  if (napi_unwrap(env, object, &data) != napi_ok) return NULL;
  return (udp_socket_t *)data;
}

static void call_js(udp_socket_t *s, napi_ref fn_ref, int argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value self, fn, result;
  napi_get_reference_value(env, s->self, &self);
  napi_get_reference_value(env, fn_ref, &fn);
  // napi_make_callback runs the tick and microtask queues afterwards, as node does after a
  // socket's callback; once per batch here instead of once per datagram
  if (napi_make_callback(env, s->async, self, fn, argc, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);  // as an exception thrown by a 'message' listener
    }
  }
}

// err: a positive errno; the JS callback gets an Error like node's (see errno_error)
static void report_error(udp_socket_t *s, int err, const char *syscall) {
  napi_handle_scope scope;
  napi_open_handle_scope(s->env, &scope);
  napi_value error = errno_error(s->env, err, syscall, NULL, 0);
  call_js(s, s->on_error, 1, &error);
  napi_close_handle_scope(s->env, scope);
}

static void update_poll(udp_socket_t *s);

static void read_batches(udp_socket_t *s) {
  for (int round = 0; round < MAX_ROUNDS && !s->closed; round++) {
    for (int i = 0; i < BATCH; i++) {
      s->rmsg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      s->rmsg[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->rmsg, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      report_error(s, errno, "recvmmsg");
      return;
    }
    if (n == 0) return;
    for (int i = 0; i < n; i++) {
      int32_t *m = s->recv_meta + i * META_INTS;
      struct sockaddr_storage *from = &s->rfrom[i];
      m[0] = (int32_t)s->rmsg[i].msg_len;
      if (from->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)from;
        m[1] = ntohs(a->sin_port);
        m[2] = 4;
        m[3] = (int32_t)ntohl(a->sin_addr.s_addr);
      } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)from;
        m[1] = ntohs(a->sin6_port);
        m[2] = 6;
        for (int k = 0; k < 4; k++) {
          uint32_t word;
          memcpy(&word, a->sin6_addr.s6_addr + 4 * k, 4);
          m[3 + k] = (int32_t)ntohl(word);
        }
      }
    }
    napi_handle_scope scope;
    napi_open_handle_scope(s->env, &scope);
    napi_value count;
    napi_create_int32(s->env, n, &count);
    call_js(s, s->on_receive, 1, &count);
    napi_close_handle_scope(s->env, scope);
    if (n < BATCH) return;  // the queue was empty when read: no second call to find it so
  }
}

static int fill_address(int family, int socket_family, const int32_t *m, struct sockaddr_storage *to, socklen_t *len) {
  memset(to, 0, sizeof *to);
  if (socket_family == AF_INET) {
    if (family != 4) return EAFNOSUPPORT;
    struct sockaddr_in *a = (struct sockaddr_in *)to;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)m[0]);
    a->sin_addr.s_addr = htonl((uint32_t)m[2]);
    *len = sizeof *a;
    return 0;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)to;
  a->sin6_family = AF_INET6;
  a->sin6_port = htons((uint16_t)m[0]);
  if (family == 4) {  // an IPv4 peer on a dual-stack socket: ::ffff:a.b.c.d
    a->sin6_addr.s6_addr[10] = 0xff;
    a->sin6_addr.s6_addr[11] = 0xff;
    uint32_t word = htonl((uint32_t)m[2]);
    memcpy(a->sin6_addr.s6_addr + 12, &word, 4);
  } else {
    for (int k = 0; k < 4; k++) {
      uint32_t word = htonl((uint32_t)m[2 + k]);
      memcpy(a->sin6_addr.s6_addr + 4 * k, &word, 4);
    }
  }
  *len = sizeof *a;
  return 0;
}

static void enqueue(udp_socket_t *s, const struct sockaddr_storage *to, socklen_t to_len, const unsigned char *bytes, size_t length) {
  queued_t *q = malloc(sizeof(queued_t) + length);
  if (q == NULL) return;  // out of memory: the datagram is lost, as on a full network
  q->next = NULL;
  q->to = *to;
  q->to_len = to_len;
  q->length = length;
  memcpy(q->bytes, bytes, length);
  if (s->queue_tail) s->queue_tail->next = q;
  else s->queue_head = q;
  s->queue_tail = q;
}

// Sends the queued datagrams, oldest first; stops at EAGAIN (the writable event resumes).
static void drain_queue(udp_socket_t *s) {
  while (s->queue_head != NULL) {
    queued_t *q = s->queue_head;
    ssize_t r = sendto(s->fd, q->bytes, q->length, MSG_DONTWAIT, (struct sockaddr *)&q->to, q->to_len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) break;
    if (r < 0) report_error(s, errno, "send");
    s->queue_head = q->next;
    if (s->queue_head == NULL) s->queue_tail = NULL;
    free(q);
  }
  update_poll(s);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  udp_socket_t *s = (udp_socket_t *)handle->data;
  if (s->closed) return;
  if (status < 0) {
    report_error(s, -status, "poll");  // libuv errors are negated errnos on Linux
    return;
  }
  if (events & UV_WRITABLE) drain_queue(s);
  if ((events & UV_READABLE) && !s->closed) read_batches(s);
}

static void update_poll(udp_socket_t *s) {
  if (s->closed) return;
  int want = UV_READABLE | (s->queue_head != NULL ? UV_WRITABLE : 0);
  if (want != s->events) {
    s->events = want;
    uv_poll_start(&s->poll, want, on_poll);
  }
}

// A socket dropped without close() and never started (a started one is referenced until close())
static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  udp_socket_t *s = (udp_socket_t *)data;
  close(s->fd);
  free(s);
}

// new UdpSocket(family 4|6, host, port, receiveBufferSize, v6only)
static napi_value socket_new(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  int32_t family, port, rcvbuf;
  bool v6only;
  char host[64];
  size_t host_len;
  CHECK(napi_get_value_int32(env, argv[0], &family));
  CHECK(napi_get_value_string_utf8(env, argv[1], host, sizeof host, &host_len));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_value_int32(env, argv[3], &rcvbuf));
  CHECK(napi_get_value_bool(env, argv[4], &v6only));

  struct sockaddr_storage addr;
  socklen_t addr_len;
  void *ip;
  memset(&addr, 0, sizeof addr);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    ip = &a->sin_addr;
    addr_len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    ip = &a->sin6_addr;
    addr_len = sizeof *a;
  }
  if (inet_pton(family == 4 ? AF_INET : AF_INET6, host, ip) != 1) {
    napi_throw(env, errno_error(env, EINVAL, "bind", host, port));
    return NULL;
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    napi_throw(env, errno_error(env, errno, "socket", NULL, 0));
    return NULL;
  }
  if (family == 6) {
    int on = v6only ? 1 : 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0) {
    int err = errno;
    close(fd);
    napi_throw(env, errno_error(env, err, "bind", host, port));
    return NULL;
  }
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

  udp_socket_t *s = calloc(1, sizeof(udp_socket_t));
  if (s == NULL) {
    close(fd);
    napi_throw_error(env, NULL, "sipline_udp: out of memory");
    return NULL;
  }
  s->fd = fd;
  s->family = family == 4 ? AF_INET : AF_INET6;
  s->env = env;
  s->closed = 1;  // until start()
  CHECK(napi_wrap(env, self, s, finalize, NULL, NULL));
  return self;
}

// socket.port(): the bound port
static napi_value socket_port(napi_env env, napi_callback_info info) {
  napi_value self, result;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  udp_socket_t *s = unwrap(env, self);
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  int port = 0;
  if (s != NULL && s->fd >= 0 && getsockname(s->fd, (struct sockaddr *)&addr, &len) == 0)
    port = ntohs(addr.ss_family == AF_INET ? ((struct sockaddr_in *)&addr)->sin_port : ((struct sockaddr_in6 *)&addr)->sin6_port);
  CHECK(napi_create_int32(env, port, &result));
  return result;
}

static int buffer_of(napi_env env, napi_value value, void **data, size_t *bytes) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value arraybuffer;
  if (napi_get_typedarray_info(env, value, &type, &length, data, &arraybuffer, &offset) != napi_ok) return 0;
  size_t unit = type == napi_int32_array ? 4 : 1;
  *bytes = length * unit;
  return 1;
}

// socket.start(recvArea, recvMeta, sendArea, sendMeta, onReceive, onError)
static napi_value socket_start(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  udp_socket_t *s = unwrap(env, self);
  if (s == NULL || s->fd < 0 || s->on_receive != NULL) {
    napi_throw_error(env, NULL, "sipline_udp: start() on a closed or started socket");
    return NULL;
  }
  void *data;
  size_t bytes;
  if (!buffer_of(env, argv[0], &data, &bytes) || bytes < (size_t)BATCH * SLOT_BYTES) goto bad;
  s->recv_area = data;
  if (!buffer_of(env, argv[1], &data, &bytes) || bytes < (size_t)BATCH * META_INTS * 4) goto bad;
  s->recv_meta = data;
  if (!buffer_of(env, argv[2], &data, &bytes)) goto bad;
  s->send_area = data;
  s->send_area_bytes = bytes;
  if (!buffer_of(env, argv[3], &data, &bytes)) goto bad;
  s->send_meta = data;
  s->send_meta_ints = bytes / 4;
  for (int i = 0; i < 4; i++) CHECK(napi_create_reference(env, argv[i], 1, &s->areas[i]));
  CHECK(napi_create_reference(env, argv[4], 1, &s->on_receive));
  CHECK(napi_create_reference(env, argv[5], 1, &s->on_error));
  CHECK(napi_create_reference(env, self, 1, &s->self));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "SIPLINE_UDP", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, self, name, &s->async));
  for (int i = 0; i < BATCH; i++) {
    s->riov[i].iov_base = s->recv_area + (size_t)i * SLOT_BYTES;
    s->riov[i].iov_len = SLOT_BYTES;
    memset(&s->rmsg[i], 0, sizeof s->rmsg[i]);
    s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsg[i].msg_hdr.msg_iovlen = 1;
    s->rmsg[i].msg_hdr.msg_name = &s->rfrom[i];
  }
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int r = uv_poll_init_socket(loop, &s->poll, s->fd);
  if (r != 0) {
    napi_throw(env, errno_error(env, -r, "uv_poll_init", NULL, 0));
    return NULL;
  }
  s->poll.data = s;
  s->closed = 0;
  s->events = 0;
  update_poll(s);
  return NULL;
bad:
  napi_throw_type_error(env, NULL, "sipline_udp: start() needs the receive area/meta and send area/meta of the documented sizes");
  return NULL;
}

// socket.send(count): sends the first count datagrams described in the send meta
static napi_value socket_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  udp_socket_t *s = unwrap(env, self);
  int32_t count;
  CHECK(napi_get_value_int32(env, argv[0], &count));
  if (s == NULL || s->closed || count <= 0) return NULL;
  if ((size_t)count * META_INTS > s->send_meta_ints) count = (int32_t)(s->send_meta_ints / META_INTS);

  struct mmsghdr msgs[SEND_BATCH];
  struct iovec iov[SEND_BATCH];
  struct sockaddr_storage to[SEND_BATCH];
  for (int base = 0; base < count; base += SEND_BATCH) {
    int n = count - base < SEND_BATCH ? count - base : SEND_BATCH;
    int ready = 0;
    for (int i = 0; i < n; i++) {
      const int32_t *m = s->send_meta + (size_t)(base + i) * META_INTS;
      size_t offset = (size_t)(uint32_t)m[0], length = (size_t)(uint32_t)m[1];
      if (offset + length > s->send_area_bytes) continue;
      socklen_t to_len;
      int err = fill_address(m[3], s->family, m + 2, &to[ready], &to_len);
      if (err != 0) {
        report_error(s, err, "send");
        continue;
      }
      iov[ready].iov_base = s->send_area + offset;
      iov[ready].iov_len = length;
      memset(&msgs[ready].msg_hdr, 0, sizeof msgs[ready].msg_hdr);
      msgs[ready].msg_hdr.msg_iov = &iov[ready];
      msgs[ready].msg_hdr.msg_iovlen = 1;
      msgs[ready].msg_hdr.msg_name = &to[ready];
      msgs[ready].msg_hdr.msg_namelen = to_len;
      ready++;
    }
    int sent = 0;
    // order is kept: once something waits in the queue, later datagrams queue behind it
    while (sent < ready && s->queue_head == NULL) {
      int r = sendmmsg(s->fd, msgs + sent, (unsigned)(ready - sent), MSG_DONTWAIT);
      if (r > 0) {
        sent += r;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        break;
      } else {
        report_error(s, errno, "send");  // this datagram only (an unreachable address, say)
        sent++;
      }
    }
    for (int i = sent; i < ready; i++) enqueue(s, (struct sockaddr_storage *)msgs[i].msg_hdr.msg_name, msgs[i].msg_hdr.msg_namelen, iov[i].iov_base, iov[i].iov_len);
  }
  update_poll(s);
  return NULL;
}

static void on_close(uv_handle_t *handle) {
  udp_socket_t *s = (udp_socket_t *)handle->data;
  close(s->fd);
  free(s);
}

// socket.close(): stops reading; what waits in the send queue is dropped
static napi_value socket_close(napi_env env, napi_callback_info info) {
  napi_value self;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  udp_socket_t *s = unwrap(env, self);
  if (s == NULL || s->fd < 0) return NULL;
  void *ignored;
  napi_remove_wrap(env, self, &ignored);
  int started = s->on_receive != NULL;
  s->closed = 1;
  while (s->queue_head != NULL) {
    queued_t *q = s->queue_head;
    s->queue_head = q->next;
    free(q);
  }
  if (started) {
    for (int i = 0; i < 4; i++) napi_delete_reference(env, s->areas[i]);
    napi_delete_reference(env, s->on_receive);
    napi_delete_reference(env, s->on_error);
    napi_delete_reference(env, s->self);
    napi_async_destroy(env, s->async);
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_close);
  } else {
    close(s->fd);
    free(s);
  }
  return NULL;
}

// formatAddress6(a0, a1, a2, a3): the text of an IPv6 address given as four big-endian ints
static napi_value format_address6(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  unsigned char bytes[16];
  for (int k = 0; k < 4; k++) {
    int32_t v = 0;
    napi_get_value_int32(env, argv[k], &v);
    uint32_t word = htonl((uint32_t)v);
    memcpy(bytes + 4 * k, &word, 4);
  }
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes, text, sizeof text);
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result));
  return result;
}

// parseAddress6(text, out Int32Array(4)): true when text is an IPv6 address
static napi_value parse_address6(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char text[64];
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[0], text, sizeof text, &len));
  void *data;
  size_t bytes;
  unsigned char addr[16];
  int ok = buffer_of(env, argv[1], &data, &bytes) && bytes >= 16 && inet_pton(AF_INET6, text, addr) == 1;
  if (ok) {
    for (int k = 0; k < 4; k++) {
      uint32_t word;
      memcpy(&word, addr + 4 * k, 4);
      ((int32_t *)data)[k] = (int32_t)ntohl(word);
    }
  }
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"port", NULL, socket_port, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, socket_start, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, socket_send, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, socket_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls, value;
  CHECK(napi_define_class(env, "UdpSocket", NAPI_AUTO_LENGTH, socket_new, NULL, 4, methods, &cls));
  CHECK(napi_set_named_property(env, exports, "UdpSocket", cls));
  CHECK(napi_create_function(env, "formatAddress6", NAPI_AUTO_LENGTH, format_address6, NULL, &value));
  CHECK(napi_set_named_property(env, exports, "formatAddress6", value));
  CHECK(napi_create_function(env, "parseAddress6", NAPI_AUTO_LENGTH, parse_address6, NULL, &value));
  CHECK(napi_set_named_property(env, exports, "parseAddress6", value));
  napi_create_int32(env, BATCH, &value);
  napi_set_named_property(env, exports, "BATCH", value);
  napi_create_int32(env, SLOT_BYTES, &value);
  napi_set_named_property(env, exports, "SLOT_BYTES", value);
  napi_create_int32(env, META_INTS, &value);
  napi_set_named_property(env, exports, "META_INTS", value);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
