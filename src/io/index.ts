/**
 * The shared-memory ABI: ring.h (shared rings and their macros), netif.h (network ring slots),
 * the Xen constants and struct layouts the hypervisor model uses, and ring-page inspection.
 */
export * from './xen-constants';
export * from './ring';
export * from './netif';
export * from './inspect';
