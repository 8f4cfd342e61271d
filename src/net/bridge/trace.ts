/**
 * Trace events of the bridge. Drops go through `sim.drops` (event `drop`, where = "bridge/<name>").
 */
import { defineTraceEvents } from '../../sim';

declare module '../../sim/trace' {
  interface TraceEvents {
    'bridge.learn': { bridge: string; port: string; mac: string };
    'bridge.move': { bridge: string; mac: string; from: string; to: string };
    'bridge.forward': { bridge: string; in: string; out: string; dst: string; bytes: number };
    'bridge.flood': { bridge: string; in: string; kind: 'unicast' | 'multicast' | 'broadcast'; ports: number; bytes: number };
    'bridge.local': { bridge: string; in: string; dst: string; bytes: number };
    'bridge.pass': { bridge: string; port: string; dst: string; bytes: number };
    'bridge.age': { bridge: string; mac: string; port: string; idleNs: number };
    'bridge.flush': { bridge: string; port: string; entries: number; why: string };
    'bridge.port': { bridge: string; port: string; state: string; why: string };
  }
}

defineTraceEvents({
  'bridge.learn': 'The bridge learned a new source address on a port and created a dynamic forwarding-database entry (br_fdb_update).',
  'bridge.move': 'A known source address appeared on another port and its forwarding-database entry moved there (station move).',
  'bridge.forward': 'A frame to a known unicast address left by the one port the forwarding database names (br_forward).',
  'bridge.flood': 'A broadcast, multicast or unknown-unicast frame was copied to every eligible port (br_flood); `ports` counts the copies sent.',
  'bridge.local': 'A copy of the frame went up to the bridge device itself, i.e. to dom0\'s own stack (br_pass_frame_up).',
  'bridge.pass': 'A link-local frame (01:80:c2:00:00:0X) that is not forwarded continued up the ingress port\'s own stack (RX_HANDLER_PASS).',
  'bridge.age': 'The gc (br_fdb_cleanup) removed a dynamic entry that had not been refreshed for the ageing time.',
  'bridge.flush': 'Forwarding-database entries of a port were deleted at once: carrier loss, port removal, or a user flush.',
  'bridge.port': 'A bridge port changed STP state (disabled, listening, learning, forwarding, blocking).',
});
