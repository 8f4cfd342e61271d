export { EventQueue, type SimTime, type EventId, type EventHandler, type PoppedEvent } from './queue';
export { RandomStream, RandomStreams } from './rng';
export {
  TraceBus, TracePoint, TraceRecorder, defineTraceEvents, traceCatalogue,
  type TraceEvents, type TraceName, type TraceRecord, type AnyTraceRecord, type TraceListener,
} from './trace';
export { DropCounters, CounterRegistry, type DropRow } from './drops';
export { Simulator, type RunLimits, type RunResult, type StopReason, type SimulatorOptions } from './simulator';
export * from './units';
export { Cpu } from './cpu';
export { ENGINE_FLAGS, tuneEngine } from './engine';
