/**
 * xen-netlab: a model of Xen's paravirtualised network path, for notebooks.
 *
 * The notebook-facing API is small and flat:
 *
 *   import { buildXenHost, show, lineChart, table } from 'xen-netlab';
 *
 * Everything else is reachable by layer, each a namespace named after the real component:
 * `sim` (virtual time, random streams, trace bus), `params` (the parameter registry), `wire`
 * (packet formats, checksums, pcap), `io` (ring.h and netif.h, byte-exact), `xen` (memory,
 * grant tables, event channels, xenstore/xenbus), `net` (skb, net_device, the stack, the
 * bridge, endpoints, the wire link), `netfront`, `netback`, `nic`, `l3` (routed and NAT modes).
 */
import { tuneEngine } from './sim/engine';

tuneEngine();

export * from './lab';
export { buildXenHost, XenHost, type XenHostOptions, type GuestSpec, type ExternalSpec, type Guest, type NetworkMode,
  packetWalk, walkSpans, sendBursts, guestFrames, buildGsoSkb, txSlotRows, txRingOccupancy, notificationStats, dom0CpuByStep,
  type WalkRow, type WalkSpan, type TxSlotRow, type RingOccupancyRow, type NotificationStats, type CpuStepRow, type GsoSkb,
  fdbTimeline, bridgeDecisions, walkSteps, walkStepSpans, walkSummary, stepsPerPacket, deliveryLatencies, Dom0L3,
  type FdbSpan, type DecisionBin, type WalkStep, type WalkSummary,
  buildRxLabHost, rxStream, rxWarmUp, rxWalk, rxSwimlane, rxBreakdown, rxComponentOf, rxCostMeter, sampleEvery, dropTimeline, RX_COMPLETION_STEPS,
  type RxGuestSpec, type RxLabHostOptions, type RxStream, type RxStreamOptions, type RxWalkRow, type RxSwimRow, type RxBreakdownRow, type RxCostRow, type RxHypercallRow, type RxCostMeter,
  captureHost, HostCaptures, type HostCaptureOptions, type HostCapturePoint,
  grantGuestPage, guestUdpFrame, injectTxSlots, sendMalformedTx, MALFORMED_TX, rewriteTxSlot, txStatusName, txResponseRows, txRequestRow, hangGuestRx, vifRxState, netbackKernelLog, scheduleAt,
  type GrantedPage, type RawTxSlot, type InjectedSlots, type MalformedTx, type TxRewrite, type TxResponseRow, type VifRxState, type KernelLogLine,
  runLoadPoint, hostResources, workDoneNs, utilisationMeter, frameSizes, lineRatePps, pathOrder, bottleneckOf, sweepRows, costParts, binSum, SATURATED,
  type BusyResource, type UtilisationRow, type UtilisationMeter, type FrameSizes, type LoadPointOptions, type LoadPoint, type LoadRun, type SweepUtilRow, type CostPartRow, type BinOptions } from './topo';
export { Params, defineParams, paramGroups, type Overrides, type ParamRow } from './params';
export { Simulator, traceCatalogue, type AnyTraceRecord, type TraceRecorder } from './sim';
export * as sim from './sim';
export * as params from './params';
export * as wire from './wire';
export * as io from './io';
export * as xen from './xen';
export * as net from './net';
export * as l3 from './net/l3';
export * as netfront from './drivers/netfront';
export * as netback from './drivers/netback';
export * as nic from './drivers/nic';
