/** The physical NIC (an ixgbe-like 10 GbE adapter and driver) and external hosts built on it. */
export { IxgbeNic, l4ChecksumStatus, DESC_NEEDED, TX_WAKE_THRESHOLD, IXGBE_RXBUFFER_2K, type IxgbeNicOptions } from './ixgbe';
export { ExternalHost, type ExternalHostOptions } from './host';
export { tsoLayout, tsoSegment, type TsoLayout } from '../../net/gso';
