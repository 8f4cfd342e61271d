import { Simulator } from '../../src/sim';
import { Params } from '../../src/params';
import { Hypervisor, type GuestHandle } from '../../src/xen';

export interface Host {
  sim: Simulator;
  hv: Hypervisor;
  dom0: GuestHandle;
  guest: GuestHandle;
}

/** dom0 + one guest on a small host. */
export function host(overrides: Record<string, number | boolean | string> = {}): Host {
  const sim = new Simulator({ seed: 1 });
  const hv = new Hypervisor(sim, Params.defaults().with({ 'xen.host_pages': 1024, ...overrides }));
  const dom0 = hv.createDomain({ name: 'Domain-0', pages: 64 });
  const guest = hv.createDomain({ name: 'guest1', pages: 64 });
  return { sim, hv, dom0, guest };
}
