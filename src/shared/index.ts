export { ErrorCode, SiplineError } from './errors.ts';
export { systemClock, ManualClock, type Clock } from './clock.ts';
export { TimerWheel, Timer, type TimerTarget, type TimerWheelOptions } from './timer-wheel.ts';
export { randomToken, pooledRandomBytes, newBranch, setBranchTag, currentBranchTag, newTag, newCallId, BRANCH_MAGIC_COOKIE } from './ids.ts';
export { Counters, type CounterCell } from './metrics.ts';
export { keepBytesIn, keptBytes, ownString, type KeptBytesHolder } from './detach.ts';
export { createLogger, silentLogger, type Logger, type LogLevel, type LogFormat, type LoggerOptions } from './logger.ts';
