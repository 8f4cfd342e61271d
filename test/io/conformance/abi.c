/*
 * ABI ground truth for xen-netlab's src/io model.
 *
 * Compiled during the test run (test/io/conformance.test.ts) against the system's Xen public
 * headers (Debian libxen-dev) and run; prints one fact per line:
 *
 *   sizeof <type> <bytes>
 *   field  <struct> <member.path> <offset> <size>
 *   const  <NAME> <value>
 *   msg    <index> <text>                 GNTTABOP_error_msgs
 *   vec    <name> <value or hex bytes>    produced by driving the real ring.h macros
 *
 * The test parses every line and compares it with the TypeScript model. Scenarios that drive the
 * macros are mirrored step by step in the test, so any change here must be made there too.
 */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>

/* Xen leaves the barriers to the includer for interface versions >= 0x00030208. */
#define xen_mb()  __sync_synchronize()
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>
#include <xen/io/ring.h>
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>

#define SIZEOF_T(T) printf("sizeof %s %zu\n", #T, sizeof(T))
#define SIZEOF_S(S) printf("sizeof %s %zu\n", #S, sizeof(struct S))
#define SIZEOF_U(U) printf("sizeof %s %zu\n", #U, sizeof(union U))
#define FIELD(S, f) printf("field %s %s %zu %zu\n", #S, #f, offsetof(struct S, f), sizeof(((struct S *)0)->f))
#define FIELDU(U, f) printf("field %s %s %zu %zu\n", #U, #f, offsetof(union U, f), sizeof(((union U *)0)->f))
#define CONST(N) printf("const %s %lld\n", #N, (long long)(N))

static unsigned char page[4096] __attribute__((aligned(4096)));

static void vec_hex(const char *name, const void *p, size_t n)
{
    const unsigned char *b = p;
    printf("vec %s ", name);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

static void vec_u(const char *name, unsigned long long v)
{
    printf("vec %s %llu\n", name, v);
}

static void sizes(void)
{
    SIZEOF_S(netif_tx_request);
    SIZEOF_S(netif_tx_response);
    SIZEOF_S(netif_rx_request);
    SIZEOF_S(netif_rx_response);
    SIZEOF_S(netif_extra_info);
    printf("sizeof netif_extra_info.u %zu\n", sizeof(((struct netif_extra_info *)0)->u));
    SIZEOF_U(netif_tx_sring_entry);
    SIZEOF_U(netif_rx_sring_entry);
    SIZEOF_S(netif_tx_sring);
    SIZEOF_S(netif_rx_sring);
    SIZEOF_S(xen_netif_ctrl_request);
    SIZEOF_S(xen_netif_ctrl_response);
    SIZEOF_U(xen_netif_ctrl_sring_entry);
    SIZEOF_S(xen_netif_ctrl_sring);
    SIZEOF_S(xen_netif_gref);
    SIZEOF_T(RING_IDX);
    SIZEOF_S(grant_entry_v1);
    SIZEOF_S(grant_entry_header);
    SIZEOF_U(grant_entry_v2);
    SIZEOF_T(grant_status_t);
    SIZEOF_T(grant_ref_t);
    SIZEOF_T(grant_handle_t);
    SIZEOF_T(domid_t);
    SIZEOF_T(evtchn_port_t);
    SIZEOF_S(gnttab_map_grant_ref);
    SIZEOF_S(gnttab_unmap_grant_ref);
    SIZEOF_S(gnttab_copy);
    SIZEOF_S(gnttab_transfer);
    SIZEOF_S(gnttab_setup_table);
    SIZEOF_S(gnttab_query_size);
    SIZEOF_S(evtchn_alloc_unbound);
    SIZEOF_S(evtchn_bind_interdomain);
    SIZEOF_S(evtchn_bind_virq);
    SIZEOF_S(evtchn_bind_ipi);
    SIZEOF_S(evtchn_close);
    SIZEOF_S(evtchn_send);
    SIZEOF_S(evtchn_unmask);
    SIZEOF_S(evtchn_bind_vcpu);
    SIZEOF_S(evtchn_status);
    SIZEOF_S(vcpu_info);
    SIZEOF_S(shared_info);
}

static void fields(void)
{
    FIELD(netif_tx_request, gref);
    FIELD(netif_tx_request, offset);
    FIELD(netif_tx_request, flags);
    FIELD(netif_tx_request, id);
    FIELD(netif_tx_request, size);
    FIELD(netif_tx_response, id);
    FIELD(netif_tx_response, status);
    FIELD(netif_rx_request, id);
    FIELD(netif_rx_request, pad);
    FIELD(netif_rx_request, gref);
    FIELD(netif_rx_response, id);
    FIELD(netif_rx_response, offset);
    FIELD(netif_rx_response, flags);
    FIELD(netif_rx_response, status);
    FIELD(netif_extra_info, type);
    FIELD(netif_extra_info, flags);
    FIELD(netif_extra_info, u);
    FIELD(netif_extra_info, u.gso);
    FIELD(netif_extra_info, u.gso.size);
    FIELD(netif_extra_info, u.gso.type);
    FIELD(netif_extra_info, u.gso.pad);
    FIELD(netif_extra_info, u.gso.features);
    FIELD(netif_extra_info, u.mcast);
    FIELD(netif_extra_info, u.mcast.addr);
    FIELD(netif_extra_info, u.hash);
    FIELD(netif_extra_info, u.hash.type);
    FIELD(netif_extra_info, u.hash.algorithm);
    FIELD(netif_extra_info, u.hash.value);
    FIELD(netif_extra_info, u.pad);
#define SRING_FIELDS(S) \
    FIELD(S, req_prod); FIELD(S, req_event); FIELD(S, rsp_prod); FIELD(S, rsp_event); \
    FIELD(S, pvt); FIELD(S, pvt.netif.smartpoll_active); FIELD(S, pvt.tapif_user.msg); \
    FIELD(S, pvt.pvt_pad); FIELD(S, __pad); \
    printf("field %s ring %zu %zu\n", #S, offsetof(struct S, ring), sizeof(((struct S *)0)->ring[0]))
    SRING_FIELDS(netif_tx_sring);
    SRING_FIELDS(netif_rx_sring);
    SRING_FIELDS(xen_netif_ctrl_sring);
    FIELD(xen_netif_ctrl_request, id);
    FIELD(xen_netif_ctrl_request, type);
    FIELD(xen_netif_ctrl_request, data);
    FIELD(xen_netif_ctrl_response, id);
    FIELD(xen_netif_ctrl_response, type);
    FIELD(xen_netif_ctrl_response, status);
    FIELD(xen_netif_ctrl_response, data);
    FIELD(xen_netif_gref, ref);
    FIELD(xen_netif_gref, flags);
    FIELD(xen_netif_gref, status);

    FIELD(grant_entry_v1, flags);
    FIELD(grant_entry_v1, domid);
    FIELD(grant_entry_v1, frame);
    FIELD(grant_entry_header, flags);
    FIELD(grant_entry_header, domid);
    FIELDU(grant_entry_v2, hdr);
    FIELDU(grant_entry_v2, hdr.flags);
    FIELDU(grant_entry_v2, hdr.domid);
    FIELDU(grant_entry_v2, full_page.pad0);
    FIELDU(grant_entry_v2, full_page.frame);
    FIELDU(grant_entry_v2, sub_page.page_off);
    FIELDU(grant_entry_v2, sub_page.length);
    FIELDU(grant_entry_v2, sub_page.frame);
    FIELDU(grant_entry_v2, transitive.trans_domid);
    FIELDU(grant_entry_v2, transitive.pad0);
    FIELDU(grant_entry_v2, transitive.gref);
    FIELD(gnttab_map_grant_ref, host_addr);
    FIELD(gnttab_map_grant_ref, flags);
    FIELD(gnttab_map_grant_ref, ref);
    FIELD(gnttab_map_grant_ref, dom);
    FIELD(gnttab_map_grant_ref, status);
    FIELD(gnttab_map_grant_ref, handle);
    FIELD(gnttab_map_grant_ref, dev_bus_addr);
    FIELD(gnttab_unmap_grant_ref, host_addr);
    FIELD(gnttab_unmap_grant_ref, dev_bus_addr);
    FIELD(gnttab_unmap_grant_ref, handle);
    FIELD(gnttab_unmap_grant_ref, status);
    FIELD(gnttab_copy, source);
    FIELD(gnttab_copy, source.u.ref);
    FIELD(gnttab_copy, source.u.gmfn);
    FIELD(gnttab_copy, source.domid);
    FIELD(gnttab_copy, source.offset);
    FIELD(gnttab_copy, dest);
    FIELD(gnttab_copy, dest.u.ref);
    FIELD(gnttab_copy, dest.u.gmfn);
    FIELD(gnttab_copy, dest.domid);
    FIELD(gnttab_copy, dest.offset);
    FIELD(gnttab_copy, len);
    FIELD(gnttab_copy, flags);
    FIELD(gnttab_copy, status);
    FIELD(gnttab_transfer, mfn);
    FIELD(gnttab_transfer, domid);
    FIELD(gnttab_transfer, ref);
    FIELD(gnttab_transfer, status);
    FIELD(gnttab_setup_table, dom);
    FIELD(gnttab_setup_table, nr_frames);
    FIELD(gnttab_setup_table, status);
    FIELD(gnttab_setup_table, frame_list);
    FIELD(gnttab_query_size, dom);
    FIELD(gnttab_query_size, nr_frames);
    FIELD(gnttab_query_size, max_nr_frames);
    FIELD(gnttab_query_size, status);
    FIELD(evtchn_alloc_unbound, dom);
    FIELD(evtchn_alloc_unbound, remote_dom);
    FIELD(evtchn_alloc_unbound, port);
    FIELD(evtchn_bind_interdomain, remote_dom);
    FIELD(evtchn_bind_interdomain, remote_port);
    FIELD(evtchn_bind_interdomain, local_port);
    FIELD(evtchn_bind_virq, virq);
    FIELD(evtchn_bind_virq, vcpu);
    FIELD(evtchn_bind_virq, port);
    FIELD(evtchn_bind_ipi, vcpu);
    FIELD(evtchn_bind_ipi, port);
    FIELD(evtchn_close, port);
    FIELD(evtchn_send, port);
    FIELD(evtchn_unmask, port);
    FIELD(evtchn_bind_vcpu, port);
    FIELD(evtchn_bind_vcpu, vcpu);
    FIELD(evtchn_status, dom);
    FIELD(evtchn_status, port);
    FIELD(evtchn_status, status);
    FIELD(evtchn_status, vcpu);
    FIELD(evtchn_status, u.unbound.dom);
    FIELD(evtchn_status, u.interdomain.dom);
    FIELD(evtchn_status, u.interdomain.port);
    FIELD(evtchn_status, u.pirq);
    FIELD(evtchn_status, u.virq);
    FIELD(vcpu_info, evtchn_upcall_pending);
    FIELD(vcpu_info, evtchn_upcall_mask);
    FIELD(vcpu_info, evtchn_pending_sel);
    FIELD(vcpu_info, arch);
    FIELD(vcpu_info, time);
    FIELD(shared_info, vcpu_info);
    FIELD(shared_info, evtchn_pending);
    FIELD(shared_info, evtchn_mask);
    FIELD(shared_info, wc_version);
    FIELD(shared_info, wc_sec);
    FIELD(shared_info, wc_nsec);
    FIELD(shared_info, wc_sec_hi);
    FIELD(shared_info, arch);
}

static void constants(void)
{
    CONST(XEN_NETIF_NR_SLOTS_MIN);
    CONST(XEN_NETIF_MAX_TX_SIZE);
    CONST(_NETTXF_csum_blank); CONST(NETTXF_csum_blank);
    CONST(_NETTXF_data_validated); CONST(NETTXF_data_validated);
    CONST(_NETTXF_more_data); CONST(NETTXF_more_data);
    CONST(_NETTXF_extra_info); CONST(NETTXF_extra_info);
    CONST(_NETRXF_data_validated); CONST(NETRXF_data_validated);
    CONST(_NETRXF_csum_blank); CONST(NETRXF_csum_blank);
    CONST(_NETRXF_more_data); CONST(NETRXF_more_data);
    CONST(_NETRXF_extra_info); CONST(NETRXF_extra_info);
    CONST(_NETRXF_gso_prefix); CONST(NETRXF_gso_prefix);
    CONST(XEN_NETIF_EXTRA_TYPE_NONE);
    CONST(XEN_NETIF_EXTRA_TYPE_GSO);
    CONST(XEN_NETIF_EXTRA_TYPE_MCAST_ADD);
    CONST(XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
    CONST(XEN_NETIF_EXTRA_TYPE_HASH);
    CONST(XEN_NETIF_EXTRA_TYPE_MAX);
    CONST(_XEN_NETIF_EXTRA_FLAG_MORE); CONST(XEN_NETIF_EXTRA_FLAG_MORE);
    CONST(XEN_NETIF_GSO_TYPE_NONE);
    CONST(XEN_NETIF_GSO_TYPE_TCPV4);
    CONST(XEN_NETIF_GSO_TYPE_TCPV6);
    CONST(NETIF_RSP_DROPPED);
    CONST(NETIF_RSP_ERROR);
    CONST(NETIF_RSP_OKAY);
    CONST(NETIF_RSP_NULL);
    CONST(_XEN_NETIF_CTRL_HASH_TYPE_IPV4); CONST(XEN_NETIF_CTRL_HASH_TYPE_IPV4);
    CONST(_XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP); CONST(XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
    CONST(_XEN_NETIF_CTRL_HASH_TYPE_IPV6); CONST(XEN_NETIF_CTRL_HASH_TYPE_IPV6);
    CONST(_XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP); CONST(XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
    CONST(XEN_NETIF_CTRL_HASH_ALGORITHM_NONE);
    CONST(XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
    CONST(XEN_NETIF_CTRL_TYPE_INVALID);
    CONST(XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY);
    CONST(XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM);
    CONST(XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE);
    CONST(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING);
    CONST(XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING);
    CONST(XEN_NETIF_CTRL_STATUS_SUCCESS);
    CONST(XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
    CONST(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    CONST(XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW);
    CONST(_XEN_NETIF_CTRLF_GREF_readonly); CONST(XEN_NETIF_CTRLF_GREF_readonly);

    CONST(GNTTAB_NR_RESERVED_ENTRIES);
    CONST(GTF_invalid); CONST(GTF_permit_access); CONST(GTF_accept_transfer);
    CONST(GTF_transitive); CONST(GTF_type_mask);
    CONST(_GTF_readonly); CONST(GTF_readonly);
    CONST(_GTF_reading); CONST(GTF_reading);
    CONST(_GTF_writing); CONST(GTF_writing);
    CONST(GTF_PWT); CONST(GTF_PCD); CONST(GTF_PAT); CONST(GTF_sub_page);
    CONST(GTF_transfer_committed); CONST(GTF_transfer_completed);
    CONST(GNTTABOP_map_grant_ref); CONST(GNTTABOP_unmap_grant_ref);
    CONST(GNTTABOP_setup_table); CONST(GNTTABOP_dump_table);
    CONST(GNTTABOP_transfer); CONST(GNTTABOP_copy); CONST(GNTTABOP_query_size);
    CONST(GNTTABOP_unmap_and_replace); CONST(GNTTABOP_set_version);
    CONST(GNTTABOP_get_status_frames); CONST(GNTTABOP_get_version);
    CONST(GNTTABOP_swap_grant_ref); CONST(GNTTABOP_cache_flush);
    CONST(GNTMAP_device_map); CONST(GNTMAP_host_map); CONST(GNTMAP_readonly);
    CONST(GNTMAP_application_map); CONST(GNTMAP_contains_pte);
    CONST(GNTCOPY_source_gref); CONST(GNTCOPY_dest_gref);
    CONST(GNTST_okay); CONST(GNTST_general_error); CONST(GNTST_bad_domain);
    CONST(GNTST_bad_gntref); CONST(GNTST_bad_handle); CONST(GNTST_bad_virt_addr);
    CONST(GNTST_bad_dev_addr); CONST(GNTST_no_device_space);
    CONST(GNTST_permission_denied); CONST(GNTST_bad_page); CONST(GNTST_bad_copy_arg);
    CONST(GNTST_address_too_big); CONST(GNTST_eagain); CONST(GNTST_no_space);

    CONST(EVTCHNOP_bind_interdomain); CONST(EVTCHNOP_bind_virq); CONST(EVTCHNOP_bind_pirq);
    CONST(EVTCHNOP_close); CONST(EVTCHNOP_send); CONST(EVTCHNOP_status);
    CONST(EVTCHNOP_alloc_unbound); CONST(EVTCHNOP_bind_ipi); CONST(EVTCHNOP_bind_vcpu);
    CONST(EVTCHNOP_unmask); CONST(EVTCHNOP_reset); CONST(EVTCHNOP_init_control);
    CONST(EVTCHNOP_expand_array); CONST(EVTCHNOP_set_priority);
    CONST(EVTCHNSTAT_closed); CONST(EVTCHNSTAT_unbound); CONST(EVTCHNSTAT_interdomain);
    CONST(EVTCHNSTAT_pirq); CONST(EVTCHNSTAT_virq); CONST(EVTCHNSTAT_ipi);
    CONST(EVTCHN_2L_NR_CHANNELS);
    CONST(EVTCHN_FIFO_LINK_BITS); CONST(EVTCHN_FIFO_NR_CHANNELS);
    CONST(EVTCHN_FIFO_PRIORITY_MAX); CONST(EVTCHN_FIFO_PRIORITY_DEFAULT);
    CONST(EVTCHN_FIFO_PRIORITY_MIN);

    CONST(XenbusStateUnknown); CONST(XenbusStateInitialising); CONST(XenbusStateInitWait);
    CONST(XenbusStateInitialised); CONST(XenbusStateConnected); CONST(XenbusStateClosing);
    CONST(XenbusStateClosed); CONST(XenbusStateReconfiguring); CONST(XenbusStateReconfigured);

    CONST(DOMID_FIRST_RESERVED); CONST(DOMID_SELF); CONST(DOMID_IO); CONST(DOMID_XEN);
    CONST(DOMID_COW); CONST(DOMID_INVALID); CONST(DOMID_IDLE); CONST(DOMID_MASK);
    CONST(XEN_LEGACY_MAX_VCPUS);
    CONST(XEN_PAGE_SHIFT);
    CONST(__XEN_LATEST_INTERFACE_VERSION__);

    /* Ring geometry with a 4096-byte page. */
    printf("const NET_TX_RING_SIZE %d\n", (int)__CONST_RING_SIZE(netif_tx, 4096));
    printf("const NET_RX_RING_SIZE %d\n", (int)__CONST_RING_SIZE(netif_rx, 4096));
    printf("const XEN_NETIF_CTRL_RING_SIZE %d\n", (int)__CONST_RING_SIZE(xen_netif_ctrl, 4096));
    printf("const SRING_RING_OFFSET %zu\n", offsetof(struct netif_tx_sring, ring));

    static const char *msgs[] = GNTTABOP_error_msgs;
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        printf("msg %zu %s\n", i, msgs[i]);
}

/* __RD32 and __CONST_RING_SIZE / __RING_SIZE over entry sizes and byte sizes. */
static void geometry(void)
{
    static const unsigned int xs[] = {
        0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 255, 256, 257, 336, 504, 1000, 65535, 65536,
        65537, 0x7fffffffu, 0x80000000u, 0x80000001u, 0xfffffffeu, 0xffffffffu,
    };
    char name[64];
    for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
        snprintf(name, sizeof(name), "rd32.%u", xs[i]);
        vec_u(name, __RD32(xs[i]));
    }
    static const unsigned int szs[] = { 76, 88, 100, 160, 256, 1000, 2048, 4095, 4096 };
    netif_tx_sring_t *tx = (void *)page;
    netif_rx_sring_t *rx = (void *)page;
    xen_netif_ctrl_sring_t *ctrl = (void *)page;
    for (size_t i = 0; i < sizeof(szs) / sizeof(szs[0]); i++) {
        snprintf(name, sizeof(name), "ring_size.12.%u", szs[i]);
        vec_u(name, __RING_SIZE(tx, szs[i]));
        snprintf(name, sizeof(name), "ring_size.8.%u", szs[i]);
        vec_u(name, __RING_SIZE(rx, szs[i]));
        snprintf(name, sizeof(name), "ring_size.16.%u", szs[i]);
        vec_u(name, __RING_SIZE(ctrl, szs[i]));
    }
}

/* Struct images: fields set by name on a zeroed struct, dumped as bytes. */
static void struct_images(void)
{
    struct gnttab_copy c;
    memset(&c, 0, sizeof(c));
    c.source.u.ref = 0x11223344;
    c.source.domid = 7;
    c.source.offset = 0x0102;
    c.dest.u.gmfn = 0x0000000123456789ull;
    c.dest.domid = DOMID_SELF;
    c.dest.offset = 2048;
    c.len = 1500;
    c.flags = GNTCOPY_source_gref;
    c.status = GNTST_bad_copy_arg;
    vec_hex("image.gnttab_copy", &c, sizeof(c));

    struct gnttab_map_grant_ref m;
    memset(&m, 0, sizeof(m));
    m.host_addr = 0xffff888012345000ull;
    m.flags = GNTMAP_host_map | GNTMAP_readonly;
    m.ref = 0x1234;
    m.dom = 3;
    m.status = GNTST_general_error;
    m.handle = 0xabcdef01;
    m.dev_bus_addr = 0x12345000ull;
    vec_hex("image.gnttab_map_grant_ref", &m, sizeof(m));

    struct gnttab_unmap_grant_ref u;
    memset(&u, 0, sizeof(u));
    u.host_addr = 0xffff888012345000ull;
    u.dev_bus_addr = 0;
    u.handle = 42;
    u.status = GNTST_bad_handle;
    vec_hex("image.gnttab_unmap_grant_ref", &u, sizeof(u));

    struct gnttab_transfer t;
    memset(&t, 0, sizeof(t));
    t.mfn = 0x9abcdef;
    t.domid = 5;
    t.ref = 300;
    t.status = GNTST_bad_page;
    vec_hex("image.gnttab_transfer", &t, sizeof(t));

    struct grant_entry_v1 g;
    memset(&g, 0, sizeof(g));
    g.domid = 0;
    g.frame = 0x12345;
    g.flags = GTF_permit_access | GTF_readonly;
    vec_hex("image.grant_entry_v1", &g, sizeof(g));

    struct evtchn_alloc_unbound a;
    memset(&a, 0, sizeof(a));
    a.dom = DOMID_SELF;
    a.remote_dom = 0;
    a.port = 17;
    vec_hex("image.evtchn_alloc_unbound", &a, sizeof(a));

    struct evtchn_bind_interdomain bi;
    memset(&bi, 0, sizeof(bi));
    bi.remote_dom = 4;
    bi.remote_port = 17;
    bi.local_port = 9;
    vec_hex("image.evtchn_bind_interdomain", &bi, sizeof(bi));
}

/*
 * Scenario "tx": a tx ring on a page pre-filled with 0xa5, so bytes no store touched show.
 * Mirrors section 1.5 of the reference with the real macros.
 */
static void scenario_tx(void)
{
    netif_tx_sring_t *s = (void *)page;
    netif_tx_front_ring_t f;
    netif_tx_back_ring_t b;
    int notify, work;

    memset(page, 0xa5, sizeof(page));
    XEN_FRONT_RING_INIT(&f, s, 4096);
    BACK_RING_INIT(&b, s, 4096);
    vec_hex("tx.init.header", page, 64);
    vec_u("tx.init.nr_ents", f.nr_ents);
    vec_u("tx.init.back_nr_ents", b.nr_ents);
    vec_u("tx.init.free", RING_FREE_REQUESTS(&f));
    vec_u("tx.init.full", RING_FULL(&f));

    /* Request + GSO extra, written as netfront does. */
    netif_tx_request_t local = { .gref = 0x11223344, .offset = 0x0102, .flags = 0x0f, .id = 5, .size = 1514 };
    netif_tx_request_t *tx = RING_GET_REQUEST(&f, f.req_prod_pvt++);
    *tx = local;
    struct netif_extra_info *gso = (struct netif_extra_info *)RING_GET_REQUEST(&f, f.req_prod_pvt++);
    gso->u.gso.size = 1448;
    gso->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    gso->u.gso.pad = 0;
    gso->u.gso.features = 0;
    gso->type = XEN_NETIF_EXTRA_TYPE_GSO;
    gso->flags = 0;
    vec_u("tx.req.slot0_off", (unsigned char *)tx - page);
    vec_u("tx.req.slot1_off", (unsigned char *)gso - page);
    vec_u("tx.req.free_before_push", RING_FREE_REQUESTS(&f));
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
    vec_u("tx.req.notify", notify);
    vec_hex("tx.req.header", page, 16);
    vec_hex("tx.req.slots", page + 64, 36);

    /* Back end consumes both with RING_COPY_REQUEST. */
    vec_u("tx.back.unconsumed", RING_HAS_UNCONSUMED_REQUESTS(&b));
    netif_tx_request_t txreq;
    RING_COPY_REQUEST(&b, b.req_cons, &txreq);
    b.req_cons++;
    vec_hex("tx.back.copy0", &txreq, sizeof(txreq));
    struct netif_extra_info extra;
    memcpy(&extra, RING_GET_REQUEST(&b, b.req_cons), sizeof(extra));
    b.req_cons++;
    vec_hex("tx.back.copy1", &extra, sizeof(extra));
    vec_u("tx.back.unconsumed_after", RING_HAS_UNCONSUMED_REQUESTS(&b));

    /* Responses as make_tx_response(): {id, status}, then only status = NULL per extra. */
    netif_tx_response_t *rsp = RING_GET_RESPONSE(&b, b.rsp_prod_pvt);
    rsp->id = txreq.id;
    rsp->status = NETIF_RSP_OKAY;
    RING_GET_RESPONSE(&b, ++b.rsp_prod_pvt)->status = NETIF_RSP_NULL;
    b.rsp_prod_pvt++;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, notify);
    vec_u("tx.rsp.notify", notify);
    vec_hex("tx.rsp.header", page, 16);
    vec_hex("tx.rsp.slots", page + 64, 36);

    RING_FINAL_CHECK_FOR_REQUESTS(&b, work);
    vec_u("tx.final_req.work", work);
    vec_hex("tx.final_req.header", page, 16);

    /* Front end consumes the responses. */
    vec_u("tx.front.unconsumed", RING_HAS_UNCONSUMED_RESPONSES(&f));
    vec_u("tx.front.rsp_overflow", RING_RESPONSE_PROD_OVERFLOW(&f, s->rsp_prod));
    netif_tx_response_t txrsp;
    RING_COPY_RESPONSE(&f, f.rsp_cons, &txrsp);
    vec_hex("tx.front.copy0", &txrsp, sizeof(txrsp));
    RING_COPY_RESPONSE(&f, f.rsp_cons + 1, &txrsp);
    vec_hex("tx.front.copy1", &txrsp, sizeof(txrsp));
    f.rsp_cons += 2;
    RING_FINAL_CHECK_FOR_RESPONSES(&f, work);
    vec_u("tx.final_rsp.work", work);
    vec_hex("tx.final_rsp.header", page, 16);
    vec_u("tx.front.free", RING_FREE_REQUESTS(&f));

    /* Fill the ring to RING_FULL. */
    unsigned int pushed = 0;
    while (!RING_FULL(&f)) {
        netif_tx_request_t *r = RING_GET_REQUEST(&f, f.req_prod_pvt);
        r->gref = 0x1000 + pushed;
        r->offset = 0;
        r->flags = 0;
        r->id = (uint16_t)(f.req_prod_pvt & 0xff);
        r->size = 60 + pushed;
        f.req_prod_pvt++;
        pushed++;
    }
    vec_u("tx.fill.pushed", pushed);
    vec_u("tx.fill.full", RING_FULL(&f));
    vec_u("tx.fill.free", RING_FREE_REQUESTS(&f));
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
    vec_u("tx.fill.notify", notify);
    vec_u("tx.fill.unconsumed", RING_HAS_UNCONSUMED_REQUESTS(&b));
    vec_u("tx.fill.cons_overflow_at_req_cons", RING_REQUEST_CONS_OVERFLOW(&b, b.req_cons));
    vec_u("tx.fill.cons_overflow_at_end", RING_REQUEST_CONS_OVERFLOW(&b, b.req_cons + 256));
    vec_u("tx.fill.prod_overflow", RING_REQUEST_PROD_OVERFLOW(&b, s->req_prod));
    vec_u("tx.fill.prod_overflow_plus1", RING_REQUEST_PROD_OVERFLOW(&b, s->req_prod + 1));
    /* A hostile req_prod far ahead: the unconsumed count is capped at the ring size. */
    s->req_prod += 1000;
    vec_u("tx.fill.hostile_unconsumed", RING_HAS_UNCONSUMED_REQUESTS(&b));
    vec_u("tx.fill.hostile_prod_overflow", RING_REQUEST_PROD_OVERFLOW(&b, s->req_prod));
    s->req_prod -= 1000;
    /* Back end consumes 3 without responding: the cap now counts them as not yet answered. */
    b.req_cons += 3;
    vec_u("tx.fill.unconsumed_after3", RING_HAS_UNCONSUMED_REQUESTS(&b));
    vec_hex("tx.fill.page", page, 4096);
}

/* Scenario "rx": requests and responses written as netfront / netback write them. */
static void scenario_rx(void)
{
    netif_rx_sring_t *s = (void *)page;
    netif_rx_front_ring_t f;
    netif_rx_back_ring_t b;
    int notify, work;

    memset(page, 0xa5, sizeof(page));
    XEN_FRONT_RING_INIT(&f, s, 4096);
    BACK_RING_ATTACH(&b, s, s->rsp_prod, 4096);
    vec_u("rx.init.nr_ents", f.nr_ents);
    for (unsigned int i = 0; i < 3; i++) {
        netif_rx_request_t *req = RING_GET_REQUEST(&f, f.req_prod_pvt);
        req->id = (uint16_t)(f.req_prod_pvt & 0xff);
        req->gref = 0x100 + i;
        f.req_prod_pvt++;
    }
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
    vec_u("rx.req.notify", notify);
    vec_hex("rx.req.slots", page + 64, 24);

    netif_rx_request_t req;
    RING_COPY_REQUEST(&b, b.req_cons, &req);
    vec_hex("rx.back.copy0", &req, sizeof(req));
    /* Data slot: offset 0, flags csum_blank|data_validated|extra_info, 60 bytes. */
    netif_rx_response_t *rsp = RING_GET_RESPONSE(&b, b.req_cons);
    rsp->offset = 0;
    rsp->flags = NETRXF_csum_blank | NETRXF_data_validated | NETRXF_extra_info;
    rsp->id = req.id;
    rsp->status = 60;
    b.req_cons++;
    /* Extra slot: whole-struct copy of a GSO extra, as xenvif_rx_extra_slot() does. */
    struct netif_extra_info ex;
    memset(&ex, 0, sizeof(ex));
    ex.type = XEN_NETIF_EXTRA_TYPE_GSO;
    ex.flags = XEN_NETIF_EXTRA_FLAG_MORE;
    ex.u.gso.size = 1448;
    ex.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV6;
    *(struct netif_extra_info *)RING_GET_RESPONSE(&b, b.req_cons) = ex;
    b.req_cons++;
    /* Hash extra: value stored as a u32 (LSB first on x86). */
    memset(&ex, 0, sizeof(ex));
    ex.type = XEN_NETIF_EXTRA_TYPE_HASH;
    ex.flags = 0;
    ex.u.hash.type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
    ex.u.hash.algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
    uint32_t hv = 0x12345678;
    memcpy(ex.u.hash.value, &hv, 4);
    *(struct netif_extra_info *)RING_GET_RESPONSE(&b, b.req_cons) = ex;
    b.req_cons++;
    b.rsp_prod_pvt = b.req_cons;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, notify);
    vec_u("rx.rsp.notify", notify);
    vec_hex("rx.rsp.slots", page + 64, 24);
    /* A failed copy: status overwritten with the raw GNTST code. */
    RING_GET_RESPONSE(&b, 0)->status = GNTST_bad_copy_arg;
    vec_hex("rx.rsp.slot0_bad_copy", page + 64, 8);

    RING_FINAL_CHECK_FOR_REQUESTS(&b, work);
    vec_u("rx.final_req.work", work);
    vec_hex("rx.final_req.header", page, 16);

    /* Multicast extra image. */
    memset(&ex, 0xa5, sizeof(ex));
    ex.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
    ex.flags = 0;
    static const uint8_t mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
    memcpy(ex.u.mcast.addr, mac, 6);
    vec_hex("rx.image.mcast", &ex, sizeof(ex));

    /* Control ring request / response. */
    memset(page, 0xa5, sizeof(page));
    xen_netif_ctrl_sring_t *cs = (void *)page;
    xen_netif_ctrl_front_ring_t cf;
    xen_netif_ctrl_back_ring_t cb;
    XEN_FRONT_RING_INIT(&cf, cs, 4096);
    BACK_RING_INIT(&cb, cs, 4096);
    vec_u("ctrl.init.nr_ents", cf.nr_ents);
    struct xen_netif_ctrl_request *cq = RING_GET_REQUEST(&cf, cf.req_prod_pvt++);
    cq->id = 1;
    cq->type = XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS;
    cq->data[0] = XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
    cq->data[1] = 0;
    cq->data[2] = 0xdeadbeef;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&cf, notify);
    vec_u("ctrl.req.notify", notify);
    struct xen_netif_ctrl_response *cr = RING_GET_RESPONSE(&cb, cb.rsp_prod_pvt++);
    cb.req_cons++;
    cr->id = 1;
    cr->type = XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS;
    cr->status = XEN_NETIF_CTRL_STATUS_SUCCESS;
    cr->data = 0;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&cb, notify);
    vec_u("ctrl.rsp.notify", notify);
    vec_hex("ctrl.slots", page + 64, 32);
    vec_hex("ctrl.header", page, 16);
}

/* Scenario "wrap": indices near 2^32, pushed across the wrap. */
static void scenario_wrap(void)
{
    netif_tx_sring_t *s = (void *)page;
    netif_tx_front_ring_t f;
    netif_tx_back_ring_t b;
    int notify, work;
    char name[64];

    memset(page, 0, sizeof(page));
    SHARED_RING_INIT(s);
    s->req_prod = s->rsp_prod = 0xfffffffeu;
    s->req_event = s->rsp_event = 0xffffffffu;
    FRONT_RING_ATTACH(&f, s, 0xfffffffeu, 4096);
    BACK_RING_ATTACH(&b, s, 0xfffffffeu, 4096);
    for (unsigned int i = 0; i < 4; i++) {
        RING_IDX idx = f.req_prod_pvt;
        netif_tx_request_t *r = RING_GET_REQUEST(&f, idx);
        snprintf(name, sizeof(name), "wrap.slot_off.%u", idx);
        vec_u(name, (unsigned char *)r - page);
        r->gref = idx;
        r->offset = 0;
        r->flags = 0;
        r->id = (uint16_t)i;
        r->size = 100 + i;
        f.req_prod_pvt++;
    }
    vec_u("wrap.req_prod_pvt", f.req_prod_pvt);
    vec_u("wrap.free", RING_FREE_REQUESTS(&f));
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
    vec_u("wrap.req.notify", notify);
    vec_hex("wrap.req.header", page, 16);
    vec_u("wrap.back.unconsumed", RING_HAS_UNCONSUMED_REQUESTS(&b));
    while (RING_HAS_UNCONSUMED_REQUESTS(&b)) {
        netif_tx_request_t q;
        RING_COPY_REQUEST(&b, b.req_cons, &q);
        b.req_cons++;
        netif_tx_response_t *p = RING_GET_RESPONSE(&b, b.rsp_prod_pvt++);
        p->id = q.id;
        p->status = (int16_t)(q.gref == 0 ? NETIF_RSP_ERROR : NETIF_RSP_OKAY);
    }
    RING_FINAL_CHECK_FOR_REQUESTS(&b, work);
    vec_u("wrap.final_req.work", work);
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, notify);
    vec_u("wrap.rsp.notify", notify);
    vec_hex("wrap.rsp.header", page, 16);
    vec_hex("wrap.slots_low", page + 64, 24);
    vec_hex("wrap.slots_high", page + 64 + 254 * 12, 24);
    vec_u("wrap.front.unconsumed", RING_HAS_UNCONSUMED_RESPONSES(&f));
    f.rsp_cons = s->rsp_prod;
    RING_FINAL_CHECK_FOR_RESPONSES(&f, work);
    vec_u("wrap.final_rsp.work", work);
    vec_hex("wrap.final.header", page, 16);
    vec_u("wrap.free_after", RING_FREE_REQUESTS(&f));
}

/* Index values for the grid scenarios: small ones, a ring's worth (256: a backend owing a whole ring
 * of responses, a front end with a full ring), and the u32 wrap points. */
static const unsigned int grid[] = { 0, 1, 2, 3, 256, 257, 0x7fffffffu, 0x80000000u, 0x80000001u, 0xfffffffeu, 0xffffffffu };
#define NGRID (sizeof(grid) / sizeof(grid[0]))

/* Notify window for every (old, new, event) in the grid, for requests and responses. */
static void scenario_notify(void)
{
    netif_tx_sring_t *s = (void *)page;
    netif_tx_front_ring_t f;
    netif_tx_back_ring_t b;
    int notify;
    char name[96];

    memset(page, 0, sizeof(page));
    XEN_FRONT_RING_INIT(&f, s, 4096);
    BACK_RING_INIT(&b, s, 4096);
    for (size_t i = 0; i < NGRID; i++)
        for (size_t j = 0; j < NGRID; j++)
            for (size_t k = 0; k < NGRID; k++) {
                s->req_prod = grid[i];
                f.req_prod_pvt = grid[j];
                s->req_event = grid[k];
                RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
                s->rsp_prod = grid[i];
                b.rsp_prod_pvt = grid[j];
                s->rsp_event = grid[k];
                int n2;
                RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, n2);
                snprintf(name, sizeof(name), "notify.%u.%u.%u", grid[i], grid[j], grid[k]);
                vec_u(name, (unsigned)(notify | (n2 << 1)));
            }
}

/*
 * Counting and overflow macros for every (a, b, c) in the grid; then, from the same state, the
 * final checks: the work each reports and the event index each leaves (both indices start at a
 * marker), including states only a misbehaving peer can produce (a backend owing a whole ring of
 * responses while requests wait: it re-arms req_event although it can take nothing).
 */
static void scenario_counts(void)
{
    netif_tx_sring_t *s = (void *)page;
    netif_tx_front_ring_t f;
    netif_tx_back_ring_t b;
    char name[96];
    unsigned int wreq, wrsp;

    memset(page, 0, sizeof(page));
    XEN_FRONT_RING_INIT(&f, s, 4096);
    BACK_RING_INIT(&b, s, 4096);
    for (size_t i = 0; i < NGRID; i++)
        for (size_t j = 0; j < NGRID; j++)
            for (size_t k = 0; k < NGRID; k++) {
                /* front: req_prod_pvt = a, rsp_cons = b, shared rsp_prod = c */
                f.req_prod_pvt = grid[i];
                f.rsp_cons = grid[j];
                s->rsp_prod = grid[k];
                /* back: shared req_prod = a, req_cons = b, rsp_prod_pvt = c */
                s->req_prod = grid[i];
                b.req_cons = grid[j];
                b.rsp_prod_pvt = grid[k];
                snprintf(name, sizeof(name), "counts.%u.%u.%u", grid[i], grid[j], grid[k]);
                printf("vec %s %u %d %u %d %u %d %d\n", name,
                       (unsigned)RING_FREE_REQUESTS(&f), (int)RING_FULL(&f),
                       (unsigned)RING_HAS_UNCONSUMED_RESPONSES(&f),
                       (int)RING_RESPONSE_PROD_OVERFLOW(&f, grid[i]),
                       (unsigned)RING_HAS_UNCONSUMED_REQUESTS(&b),
                       (int)RING_REQUEST_CONS_OVERFLOW(&b, grid[i]),
                       (int)RING_REQUEST_PROD_OVERFLOW(&b, grid[i]));
                s->req_event = 0x5a5a5a5au;
                s->rsp_event = 0xa5a5a5a5u;
                RING_FINAL_CHECK_FOR_REQUESTS(&b, wreq);
                RING_FINAL_CHECK_FOR_RESPONSES(&f, wrsp);
                snprintf(name, sizeof(name), "final.%u.%u.%u", grid[i], grid[j], grid[k]);
                printf("vec %s %u %u %u %u\n", name, wreq, (unsigned)s->req_event, wrsp, (unsigned)s->rsp_event);
            }
}

/*
 * Scenario "walk": a pseudo-random sequence of ring operations on an 8-entry tx ring
 * (FRONT_RING_INIT with 160 bytes) starting just below the u32 wrap. xorshift32, seed 0x2545F491.
 */
static uint32_t rng_state = 0x2545F491u;
static uint32_t xorshift32(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static void scenario_walk(void)
{
    netif_tx_sring_t *s = (void *)page;
    netif_tx_front_ring_t f;
    netif_tx_back_ring_t b;
    const RING_IDX start = 0xfffffff0u;
    char name[64];

    memset(page, 0xa5, sizeof(page));
    SHARED_RING_INIT(s);
    s->req_prod = s->rsp_prod = start;
    s->req_event = s->rsp_event = start + 1;
    FRONT_RING_ATTACH(&f, s, start, 160);
    BACK_RING_ATTACH(&b, s, start, 160);
    vec_u("walk.nr_ents", f.nr_ents);

    for (unsigned int step = 0; step < 400; step++) {
        unsigned int op = xorshift32() % 8;
        unsigned int r = xorshift32();
        unsigned int k = 0;
        long long result = 0;
        switch (op) {
        case 0: /* front: produce k requests, push and check notify */
        case 1: /* front: produce k requests, plain push */
            k = r % (RING_FREE_REQUESTS(&f) + 1);
            for (unsigned int i = 0; i < k; i++) {
                netif_tx_request_t *q = RING_GET_REQUEST(&f, f.req_prod_pvt);
                q->gref = f.req_prod_pvt;
                q->offset = (uint16_t)step;
                q->flags = (uint16_t)(i & 0xf);
                q->id = (uint16_t)(f.req_prod_pvt & 0xffff);
                q->size = (uint16_t)(r >> 16);
                f.req_prod_pvt++;
            }
            if (op == 0) {
                int n;
                RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, n);
                result = n;
            } else {
                RING_PUSH_REQUESTS(&f);
            }
            break;
        case 2: { /* back: consume k requests, summing their ids */
            unsigned int avail = RING_HAS_UNCONSUMED_REQUESTS(&b);
            k = r % (avail + 1);
            for (unsigned int i = 0; i < k; i++) {
                netif_tx_request_t q;
                RING_COPY_REQUEST(&b, b.req_cons, &q);
                result += q.id + q.gref % 7;
                b.req_cons++;
            }
            break;
        }
        case 3: /* back: answer k consumed requests, push and check notify */
        case 7: { /* same, plain push */
            unsigned int owed = b.req_cons - b.rsp_prod_pvt;
            k = r % (owed + 1);
            for (unsigned int i = 0; i < k; i++) {
                netif_tx_response_t *p = RING_GET_RESPONSE(&b, b.rsp_prod_pvt);
                if ((b.rsp_prod_pvt & 3) == 3) {
                    p->status = NETIF_RSP_NULL;
                } else {
                    p->id = (uint16_t)(b.rsp_prod_pvt ^ 0x5a5a);
                    p->status = (int16_t)((r >> i) & 1 ? NETIF_RSP_OKAY : NETIF_RSP_ERROR);
                }
                b.rsp_prod_pvt++;
            }
            if (op == 3) {
                int n;
                RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, n);
                result = n;
            } else {
                RING_PUSH_RESPONSES(&b);
            }
            break;
        }
        case 4: { /* back: final check for requests */
            int w;
            RING_FINAL_CHECK_FOR_REQUESTS(&b, w);
            result = w;
            break;
        }
        case 5: { /* front: consume k responses */
            unsigned int avail = RING_HAS_UNCONSUMED_RESPONSES(&f);
            k = r % (avail + 1);
            for (unsigned int i = 0; i < k; i++) {
                netif_tx_response_t p;
                RING_COPY_RESPONSE(&f, f.rsp_cons, &p);
                result += p.id * 3 + p.status;
                f.rsp_cons++;
            }
            break;
        }
        case 6: { /* front: final check for responses */
            int w;
            RING_FINAL_CHECK_FOR_RESPONSES(&f, w);
            result = w;
            break;
        }
        }
        snprintf(name, sizeof(name), "walk.%u", step);
        printf("vec %s %u %u %lld %u %u %u %u %u %u %u %u %u %u\n", name, op, k, result,
               s->req_prod, s->req_event, s->rsp_prod, s->rsp_event,
               f.req_prod_pvt, f.rsp_cons, b.rsp_prod_pvt, b.req_cons,
               (unsigned)RING_FREE_REQUESTS(&f), (unsigned)RING_HAS_UNCONSUMED_REQUESTS(&b));
        if (step % 50 == 49) {
            snprintf(name, sizeof(name), "walk.page.%u", step);
            vec_hex(name, page, 160);
        }
    }
}

int main(void)
{
    sizes();
    fields();
    constants();
    geometry();
    struct_images();
    scenario_tx();
    scenario_rx();
    scenario_wrap();
    scenario_notify();
    scenario_counts();
    scenario_walk();
    return 0;
}
