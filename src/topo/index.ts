export { buildXenHost, XenHost, type XenHostOptions, type GuestSpec, type ExternalSpec, type Guest, type NetworkMode } from './host';
