/* SPDX-License-Identifier: MIT */
/*
 * Private declarations of the simulated driver (sim/src only): the state behind struct
 * gale_sim, its virtual fds, streams, hosts and scheduled events, and the gale__sim_
 * functions the sim's files share. Map of the files:
 *   sim_driver.c   ops table, init/deinit, wait and virtual time, stats, trace, schedule
 *   sim_fd.c       the fd table (lowest free number first) and the FIFO helper
 *   sim_ready.c    readiness masks, edge detection, ready queue, (de)registration
 *   sim_clock.c    the scheduled-event heap and its dispatch
 *   sim_stream.c   per-direction byte streams: ring, segments, delivery, integrity
 *   sim_io.c       read, write, readv, writev, recv, send
 *   sim_host.c     hosts, addresses, the port map, ephemeral ports, partitions
 *   sim_net.c      sockets: socket..accept, handshake, shutdown, close, pairs, pipes
 *   sim_sockopt.c  socket options, SO_ERROR, addresses of an fd
 */
#ifndef GALE_SIM_SRC_SIM_INTERNAL_H
#define GALE_SIM_SRC_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <gale/driver.h>
#include <gale/entropy.h>
#include <gale/sim.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#define SIM_NONE UINT32_MAX      /* No index (conn, fd slot...). */
#define SIM_HOST_ANY 0xFFFFu     /* The wildcard address (0.0.0.0, ::). */
#define SIM_HOST_UNKNOWN 0xFFFEu /* An address no host owns. */
#define SIM_PARTITIONS_MAX 64    /* Partitions active at once. */
#define SIM_RING_SIZE_MIN 512u   /* First allocation of a stream ring. */
#define SIM_IOV_MAX 1024         /* IOV_MAX on Linux. */
#define SIM_NS_PER_SEC INT64_C(1000000000)

/* ---- Small FIFO (sim_fd.c): a growable ring of fixed-size items ---------------------- */

struct sim_fifo {
	uint8_t *items;   /* cap * item_size bytes, or NULL. */
	size_t item_size; /* Bytes per item. */
	uint32_t cap;     /* Items the allocation holds. */
	uint32_t head;    /* Index of the oldest item. */
	uint32_t len;     /* Items held. */
};

void gale__sim_fifo_init(struct sim_fifo *fifo, size_t item_size);
void gale__sim_fifo_deinit(struct sim_fifo *fifo);
int gale__sim_fifo_push(struct sim_fifo *fifo, const void *item); /* 0 or -ENOMEM. */
void *gale__sim_fifo_at(const struct sim_fifo *fifo, uint32_t index); /* 0 = oldest. */
void *gale__sim_fifo_back(const struct sim_fifo *fifo);               /* Newest; len > 0. */
void gale__sim_fifo_pop(struct sim_fifo *fifo);                       /* Drops the oldest. */

/* ---- Addresses and hosts ------------------------------------------------------------- */

enum sim_family {
	SIM_FAMILY_V4 = 0,
	SIM_FAMILY_V6 = 1,
};

struct sim_addr {
	uint16_t host;  /* Host index, SIM_HOST_ANY or SIM_HOST_UNKNOWN. */
	uint16_t port;  /* Host byte order; 0 = none yet. */
	uint8_t family; /* enum sim_family. */
};

struct sim_host {
	uint8_t v4[4];      /* IPv4 address when has_v4. */
	uint8_t v6[16];     /* IPv6 address when has_v6. */
	bool has_v4;        /* Owns an IPv4 address. */
	bool has_v6;        /* Owns an IPv6 address. */
	uint32_t port_next; /* Next ephemeral port to try. */
};

/* Sockets holding one (family, host or ANY, port). */
struct sim_port_entry {
	uint64_t key;           /* port_key() + 1; 0 = empty slot. */
	uint32_t sockets_count; /* Sockets bound here (listeners, accepted, clients...). */
	uint32_t reuse_count;   /* Of those, the ones bound with SO_REUSEADDR. */
	int listener_fd;        /* The socket listening here, or -1. */
};

struct sim_partition {
	uint16_t host_a;  /* Lower host index. */
	uint16_t host_b;  /* Higher host index. */
	int64_t heal_ns;  /* Segments between them are held until then. */
};

/* ---- Streams ------------------------------------------------------------------------- */

#define SIM_SEGMENT_FIN 1u
#define SIM_SEGMENT_RST 2u

struct sim_segment {
	int64_t arrival_ns; /* When it reaches the receiver. */
	uint32_t len;       /* Data bytes (the next len in-flight bytes of the ring). */
	uint32_t flags;     /* SIM_SEGMENT_FIN / SIM_SEGMENT_RST, after the data. */
};

/* One direction of a stream: the bytes ends[from] sent to ends[1 - from]. */
struct sim_flow {
	uint8_t *ring;              /* ring_cap bytes (grows up to limit), or NULL. */
	size_t ring_cap;            /* Allocated ring bytes. */
	size_t head;                /* Ring index of the oldest unread byte. */
	size_t len;                 /* Bytes in the ring: delivered-unread, then in flight. */
	size_t delivered;           /* Of len, the bytes the receiver can read. */
	size_t limit;               /* Bound of len (gale__sim_flow_limits_update). */
	struct sim_fifo segments;   /* struct sim_segment in flight, in order. */
	int64_t arrival_last_ns;    /* No segment may arrive before the previous one. */
	int64_t link_free_ns;       /* When the link finishes carrying the last segment. */
	uint64_t bytes_written;     /* Accepted by writes (the integrity oracle). */
	uint64_t bytes_read;        /* Returned by reads (peeks excluded). */
	uint64_t hash_written;      /* FNV-1a of the bytes accepted by writes. */
	uint64_t hash_read;         /* FNV-1a of the bytes returned by reads. */
	bool fin_sent;              /* A FIN was queued: nothing may follow it. */
	bool rst_sent;              /* A RST was queued. */
	bool scheduled;             /* A SIM_EVENT_FLOW is in the heap for this flow. */
};

/* One end of a stream. */
struct sim_endpoint {
	int fd;             /* Its virtual fd, or -1 (not accepted yet, or closed). */
	bool is_open;       /* Exists: an fd, or a connection waiting to be accepted. */
	bool fin_received;  /* The peer's FIN arrived: reads end with 0. */
	bool rcv_shutdown;  /* shutdown(READ) here. */
	bool snd_shutdown;  /* shutdown(WRITE) here, or (pairs) the peer stopped reading. */
	bool reset;         /* A RST arrived (or the connection was aborted). */
	int error;          /* Pending SO_ERROR as a positive errno, or 0. */
	int sndbuf;         /* SO_SNDBUF as stored when set explicitly, else 0 (default). */
	int rcvbuf;         /* SO_RCVBUF likewise. */
	struct sim_addr addr; /* Local address (TCP). */
};

enum sim_conn_kind {
	SIM_CONN_TCP = 0,
	SIM_CONN_UNIX = 1, /* socketpair */
	SIM_CONN_PIPE = 2, /* ends[0] writes, ends[1] reads */
};

enum sim_conn_phase {
	SIM_PHASE_SYN_SENT = 0,     /* Client sent SYN; nothing on the server yet. */
	SIM_PHASE_SYN_RECEIVED = 1, /* Server holds an embryo; SYN-ACK travelling. */
	SIM_PHASE_ESTABLISHED = 2,  /* Client connected (server: once the ACK is in). */
	SIM_PHASE_FAILED = 3,       /* Refused or unreachable. */
};

/* A stream: TCP connection, socketpair or pipe. ends[0] is the client / first end. */
struct sim_conn {
	uint32_t index;             /* Slot in state->conns. */
	uint32_t generation;        /* Bumped when the slot is reused: events carry it. */
	uint64_t id;                /* Serial number for messages (1, 2, ...). */
	uint8_t kind;               /* enum sim_conn_kind. */
	uint8_t phase;              /* enum sim_conn_phase (TCP). */
	int listener_fd;            /* TCP: the listener that took the SYN, or -1. */
	uint64_t listener_serial;   /* Its fd serial (the fd number may be reused). */
	struct sim_endpoint ends[2]; /* The two ends. */
	struct sim_flow flows[2];   /* flows[i] carries ends[i]'s bytes to ends[1 - i]. */
	uint32_t free_next;         /* Free list link while unused. */
	bool is_live;               /* In use. */
};

/* ---- Virtual fds --------------------------------------------------------------------- */

enum sim_fd_kind {
	SIM_FD_FREE = 0,
	SIM_FD_TCP = 1,
	SIM_FD_UNIX = 2,
	SIM_FD_PIPE_READ = 3,
	SIM_FD_PIPE_WRITE = 4,
};

enum sim_tcp_state {
	SIM_TCP_NEW = 0,
	SIM_TCP_BOUND = 1,
	SIM_TCP_LISTENING = 2,
	SIM_TCP_CONNECTING = 3,
	SIM_TCP_CONNECTED = 4,
	SIM_TCP_FAILED = 5,
};

struct sim_registration {
	uint64_t token;    /* The registrant's token. */
	uint64_t serial;   /* Unique per registration; 0 = not registered. */
	uint32_t interest; /* READ and/or WRITE. */
	uint32_t reported; /* Bits reported true and not seen false since (the edge memory). */
	uint32_t index;    /* Position in state->registered. */
	bool queued;       /* An entry for it is in the ready queue. */
};

struct sim_listener {
	struct sim_fifo accepts;  /* uint32_t conn indexes, oldest first. */
	uint32_t backlog;         /* Connections admitted at most (handshaking + queued). */
	uint32_t embryos_count;   /* Connections in the handshake. */
};

struct sim_fd {
	uint8_t kind;                  /* enum sim_fd_kind. */
	uint8_t tcp_state;             /* enum sim_tcp_state. */
	uint8_t side;                  /* Its end in conn. */
	uint8_t family;                /* enum sim_family (TCP). */
	bool is_bound;                 /* Holds a port map entry (bind_key). */
	bool bound_reuse;              /* Counted there with SO_REUSEADDR. */
	uint32_t conn;                 /* Stream index, or SIM_NONE. */
	uint64_t serial;               /* Unique per open: names this socket forever. */
	uint64_t bind_key;             /* Port map key it holds when is_bound. */
	struct sim_addr local;         /* Local address (TCP). */
	int opts[GALE_SOCKOPT_COUNT_]; /* Stored socket options. */
	bool sndbuf_set;               /* SO_SNDBUF was set (it bounds the stream). */
	bool rcvbuf_set;               /* SO_RCVBUF was set. */
	struct sim_registration reg;   /* Readiness registration. */
	struct sim_listener *listener; /* When listening. */
};

/* ---- Scheduled events (sim_clock.c) -------------------------------------------------- */

enum sim_event_kind {
	SIM_EVENT_FLOW = 1,   /* index = conn, arg = flow: deliver due segments. */
	SIM_EVENT_SYN = 2,    /* index = conn: the SYN reaches the destination. */
	SIM_EVENT_SYNACK = 3, /* index = conn: the SYN-ACK reaches the client. */
	SIM_EVENT_ACK = 4,    /* index = conn: the ACK completes the server side. */
	SIM_EVENT_REFUSE = 5, /* index = conn, arg = errno: the client's connect fails. */
	SIM_EVENT_READY = 6,  /* index = fd slot, serial = registration: a delayed event. */
};

struct sim_event {
	int64_t time_ns;   /* When it fires. */
	uint64_t sequence; /* Scheduling order: breaks ties. */
	uint64_t serial;   /* conn generation or registration serial: detects staleness. */
	uint32_t index;    /* conn index or fd slot. */
	uint16_t kind;     /* enum sim_event_kind. */
	uint16_t arg;      /* Kind-specific. */
};

/* ---- The state behind struct gale_sim ------------------------------------------------ */

struct sim_ready_entry {
	uint32_t slot;   /* fd slot. */
	uint64_t serial; /* Registration serial when queued. */
};

struct sim_failure {
	int code;           /* enum gale_sim_check, 0 = none. */
	uint64_t conn_id;   /* Stream that failed. */
	int fd_writer;      /* Its writer's fd then (-1: closed). */
	int fd_reader;      /* Its reader's fd then. */
	uint64_t offset;    /* Bytes read when detected. */
	uint64_t written;   /* Bytes written then. */
};

struct gale_sim_state {
	struct gale_sim_options options;        /* Resolved at init. */
	struct gale_entropy entropy_own;        /* Used when options.entropy is NULL. */
	struct gale_entropy *entropy;           /* Every choice comes from here. */
	int64_t now_ns;                         /* The virtual clock. */
	bool woken;                             /* wake() called: the next blocking wait ends. */

	struct sim_fd *fds;                     /* Indexed by fd - GALE_SIM_FD_BASE. */
	uint32_t fds_cap;                       /* Slots allocated. */
	uint32_t fds_high;                      /* Slots ever used (next fresh number). */
	uint32_t fds_open_count;                /* Open fds. */
	uint32_t *fds_free;                     /* Min-heap of free slots below fds_high. */
	uint32_t fds_free_len;                  /* Entries in it. */
	uint32_t fds_free_cap;                  /* Its allocation. */
	uint64_t serial_next;                   /* Next fd / registration serial. */

	uint32_t *registered;                   /* fd slots with a registration (any order). */
	uint32_t registered_len;                /* Entries used. */
	uint32_t registered_cap;                /* Allocated. */
	struct sim_fifo ready_queue;            /* struct sim_ready_entry. */
	struct sim_fifo stale_events;           /* struct gale_event to replay (READY_STALE). */

	struct sim_conn **conns;                /* Stream slots (stable pointers). */
	uint32_t conns_cap;                     /* Slots allocated. */
	uint32_t conns_used;                    /* Slots ever used. */
	uint32_t conns_free_head;               /* Free slot list, SIM_NONE = empty. */
	uint64_t conn_id_next;                  /* Next stream id. */

	struct sim_event *heap;                 /* Min-heap by (time_ns, sequence). */
	uint32_t heap_len;                      /* Events scheduled. */
	uint32_t heap_cap;                      /* Allocated. */
	uint64_t sequence_next;                 /* Next event sequence. */

	struct sim_host hosts[GALE_SIM_HOSTS_MAX]; /* hosts[0] is localhost. */
	uint32_t hosts_count;                   /* Hosts in use. */
	struct sim_port_entry *ports;           /* Open-addressing map, power-of-two cap. */
	uint32_t ports_cap;                     /* Slots. */
	uint32_t ports_len;                     /* Used slots. */
	struct sim_partition partitions[SIM_PARTITIONS_MAX]; /* Active partitions. */
	uint32_t partitions_len;                /* Entries used. */

	struct sim_failure failure;             /* First stream-integrity failure. */
	struct gale_sim_stats stats;            /* Counters (fd/registration counts derived). */
};

/* ---- sim_driver.c: shared helpers ---------------------------------------------------- */

struct gale_sim_state *gale__sim_state(struct gale_driver *driver);
/* Appends a trace record when tracing. */
void gale__sim_trace(struct gale_sim_state *state, enum gale_trace_kind kind, uint16_t op,
		     int fd, uint64_t a, int64_t result);
/* Rolls one fault opportunity (false without a profile); counts and traces hits. */
bool gale__sim_fault(struct gale_sim_state *state, enum gale_fault_kind kind, int fd);
/* A uniform draw in [min, max]; no draw when min == max. */
int64_t gale__sim_range(struct gale_sim_state *state, int64_t min, int64_t max);
/* now + delta, saturating. */
int64_t gale__sim_time_after(int64_t now_ns, int64_t delta_ns);

/* ---- sim_fd.c ------------------------------------------------------------------------ */

int gale__sim_fds_init(struct gale_sim_state *state);
void gale__sim_fds_deinit(struct gale_sim_state *state);
/* A new fd of kind (lowest free number): 0 with *fd_out, -EMFILE or -ENOMEM. */
int gale__sim_fd_alloc(struct gale_sim_state *state, enum sim_fd_kind kind, int *fd_out);
/* Frees the number; the slot must have no registration, listener or port left. */
void gale__sim_fd_release(struct gale_sim_state *state, int fd);
/* The open fd, or NULL. Pointers are valid until the next gale__sim_fd_alloc. */
struct sim_fd *gale__sim_fd_get(const struct gale_sim_state *state, int fd);
struct sim_fd *gale__sim_fd_slot(const struct gale_sim_state *state, uint32_t slot);
int gale__sim_fd_number(uint32_t slot);

/* ---- sim_ready.c --------------------------------------------------------------------- */

int gale__sim_ready_init(struct gale_sim_state *state);
void gale__sim_ready_deinit(struct gale_sim_state *state);
/* Readiness bits true now (unfiltered by interest). */
uint32_t gale__sim_fd_mask(const struct gale_sim_state *state, const struct sim_fd *fd);
/* Re-arms bits that went false and queues an event for bits that became true. */
void gale__sim_fd_update(struct gale_sim_state *state, int fd);
/* Forgets that bits were reported, then updates: a fresh edge for still-true bits. */
void gale__sim_fd_rearm(struct gale_sim_state *state, int fd, uint32_t bits);
/* Updates the fd of one end of a stream, if it has one. */
void gale__sim_endpoint_update(struct gale_sim_state *state, struct sim_conn *conn, int side);
/* Drops fd's registration (close). */
void gale__sim_registration_drop(struct gale_sim_state *state, int fd);
int gale__sim_op_fd_register(struct gale_sim_state *state, int fd, uint64_t token,
			     uint32_t interest);
int gale__sim_op_fd_reregister(struct gale_sim_state *state, int fd, uint64_t token,
			       uint32_t interest);
int gale__sim_op_fd_deregister(struct gale_sim_state *state, int fd);
/* Moves queued and stale events into events[]; returns how many. */
int gale__sim_events_collect(struct gale_sim_state *state, struct gale_event *events,
			     int events_cap);
/* One READY_SPURIOUS roll; appends at events[count] when it fires. Returns the count. */
int gale__sim_events_spurious(struct gale_sim_state *state, struct gale_event *events,
			      int count, int events_cap);
/* True when a valid entry waits in the ready queue or a stale event is pending. */
bool gale__sim_events_pending(struct gale_sim_state *state);
/* SIM_EVENT_READY fired: queue the delayed event if the registration still exists. */
void gale__sim_ready_fire(struct gale_sim_state *state, const struct sim_event *event);

/* ---- sim_clock.c --------------------------------------------------------------------- */

void gale__sim_clock_deinit(struct gale_sim_state *state);
int gale__sim_clock_schedule(struct gale_sim_state *state, int64_t time_ns,
			     enum sim_event_kind kind, uint32_t index, uint64_t serial,
			     uint16_t arg);
/* The earliest scheduled time: true with *time_out, false when nothing is scheduled. */
bool gale__sim_clock_next(const struct gale_sim_state *state, int64_t *time_out);
/* Fires every event due at or before now, in (time, sequence) order. */
void gale__sim_clock_run_due(struct gale_sim_state *state);

/* ---- sim_stream.c -------------------------------------------------------------------- */

void gale__sim_flow_init(struct sim_flow *flow);
void gale__sim_flow_deinit(struct sim_flow *flow);
/* Bytes a writer may still send: limit - len, or 0 once len reached the limit. */
size_t gale__sim_flow_space(const struct gale_sim_state *state, const struct sim_flow *flow);
/* Recomputes both flows' limits from the ends' SO_SNDBUF / SO_RCVBUF (sim.h's model). */
void gale__sim_flow_limits_update(struct gale_sim_state *state, struct sim_conn *conn);
/* Copies fd's explicitly set buffer sizes into ends[side], then updates the limits. */
void gale__sim_endpoint_bufs_take(struct gale_sim_state *state, struct sim_conn *conn, int side,
				  const struct sim_fd *fd);
/* Sends len bytes from iov (len <= space) from ends[from]. 0 or -ENOMEM. */
int gale__sim_flow_send(struct gale_sim_state *state, struct sim_conn *conn, int from,
			const struct iovec *iov, int iov_count, size_t len);
/* Queues a FIN or RST behind the data from ends[from]. 0 or -ENOMEM. */
int gale__sim_flow_send_flags(struct gale_sim_state *state, struct sim_conn *conn, int from,
			      uint32_t flags);
/* Copies up to len delivered bytes to ends[to] (consuming them unless peek). */
size_t gale__sim_flow_read(struct gale_sim_state *state, struct sim_conn *conn, int to,
			   const struct iovec *iov, int iov_count, size_t len, bool peek);
/* A read of ends[to] returned 0 at a FIN: checks that every byte was read. */
void gale__sim_flow_check_eof(struct gale_sim_state *state, struct sim_conn *conn, int to);
/* Drops bytes and segments in flight from ends[from] (they will never arrive). */
void gale__sim_flow_drop_in_flight(struct gale_sim_state *state, struct sim_conn *conn,
				   int from);
/* Drops the unread delivered bytes of ends[to] (it closed). */
void gale__sim_flow_drop_delivered(struct gale_sim_state *state, struct sim_conn *conn, int to);
/* SIM_EVENT_FLOW fired. */
void gale__sim_flow_fire(struct gale_sim_state *state, struct sim_conn *conn, int from);
/* When a TCP segment leaving ends[from] at depart_ns arrives: latency, jitter, partitions. */
int64_t gale__sim_tcp_arrival_ns(struct gale_sim_state *state, const struct sim_conn *conn,
				 int from, int64_t depart_ns);

/* ---- sim_io.c ------------------------------------------------------------------------ */

ssize_t gale__sim_op_readv(struct gale_sim_state *state, int fd, const struct iovec *iov,
			   int iov_count, uint32_t flags, bool is_socket_call);
ssize_t gale__sim_op_writev(struct gale_sim_state *state, int fd, const struct iovec *iov,
			    int iov_count, bool is_socket_call);

/* ---- sim_host.c ---------------------------------------------------------------------- */

void gale__sim_hosts_init(struct gale_sim_state *state);
void gale__sim_ports_deinit(struct gale_sim_state *state);
int gale__sim_host_add(struct gale_sim_state *state, const char *text, uint32_t *host_id_out);
/* sockaddr -> sim_addr for a socket of family. 0, -EINVAL, -EAFNOSUPPORT. */
int gale__sim_addr_parse(const struct gale_sim_state *state, uint8_t family,
			 const struct sockaddr *addr, socklen_t addr_len, struct sim_addr *out);
/* sim_addr -> sockaddr (ANY and unknown hosts come out as the wildcard). */
void gale__sim_addr_format(const struct gale_sim_state *state, const struct sim_addr *addr,
			   struct sockaddr_storage *out, socklen_t *len_out);
/* "127.0.0.1:40000" / "[::1]:40000". */
int gale__sim_addr_text(const struct gale_sim_state *state, const struct sim_addr *addr,
			char *buf, size_t buf_len);
/* True when host owns an address of family. */
bool gale__sim_host_has_family(const struct gale_sim_state *state, uint32_t host,
			       uint8_t family);
/* Binds fd to addr (port 0: ephemeral). 0, -EADDRINUSE, -EADDRNOTAVAIL, -ENOMEM. */
int gale__sim_port_bind(struct gale_sim_state *state, int fd, struct sim_addr addr);
/* Releases fd's port, if it holds one. */
void gale__sim_port_unbind(struct gale_sim_state *state, int fd);
/* Holds addr for an accepted socket (no conflict check). 0 or -ENOMEM. */
int gale__sim_port_hold(struct gale_sim_state *state, int fd, struct sim_addr addr, bool reuse);
/* Marks fd as the listener of its port. 0 or -EADDRINUSE. */
int gale__sim_port_listen(struct gale_sim_state *state, int fd);
/* The listener for a SYN to addr, or -1. */
int gale__sim_port_listener(const struct gale_sim_state *state, struct sim_addr addr);
/* When segments between two hosts may arrive at the earliest (rolls PARTITION). */
int64_t gale__sim_partition_heal_ns(struct gale_sim_state *state, uint32_t host_a,
				    uint32_t host_b);

/* ---- sim_net.c ----------------------------------------------------------------------- */

int gale__sim_conns_init(struct gale_sim_state *state);
void gale__sim_conns_deinit(struct gale_sim_state *state);
struct sim_conn *gale__sim_conn_get(const struct gale_sim_state *state, uint32_t index);
/* The live stream of an event, or NULL when it was released since. */
struct sim_conn *gale__sim_conn_of_event(const struct gale_sim_state *state,
					 const struct sim_event *event);
/* A RST reached ends[side]. */
void gale__sim_conn_reset_receive(struct gale_sim_state *state, struct sim_conn *conn, int side);
/* The RESET fault: both ends get a RST at once, nothing in flight arrives. */
void gale__sim_conn_abort(struct gale_sim_state *state, struct sim_conn *conn);
void gale__sim_syn_fire(struct gale_sim_state *state, struct sim_conn *conn);
void gale__sim_synack_fire(struct gale_sim_state *state, struct sim_conn *conn);
void gale__sim_ack_fire(struct gale_sim_state *state, struct sim_conn *conn);
void gale__sim_refuse_fire(struct gale_sim_state *state, struct sim_conn *conn, int error);
/* Linux's TCP_CLOSE for an open, connected socket: after a RST or both FINs (see sim.h). */
bool gale__sim_tcp_end_is_closed(const struct sim_conn *conn, int side);
int gale__sim_op_socket(struct gale_sim_state *state, int domain, int type, int protocol);
int gale__sim_op_bind(struct gale_sim_state *state, int fd, const struct sockaddr *addr,
		      socklen_t addr_len);
int gale__sim_op_listen(struct gale_sim_state *state, int fd, int backlog);
int gale__sim_op_accept(struct gale_sim_state *state, int fd, struct sockaddr_storage *addr_out,
			socklen_t *addr_len_out);
int gale__sim_op_connect(struct gale_sim_state *state, int fd, const struct sockaddr *addr,
			 socklen_t addr_len);
int gale__sim_op_shutdown(struct gale_sim_state *state, int fd, int how);
int gale__sim_op_close(struct gale_sim_state *state, int fd);
int gale__sim_op_socketpair(struct gale_sim_state *state, int fds_out[2]);
int gale__sim_op_pipe(struct gale_sim_state *state, int fds_out[2]);

/* ---- sim_sockopt.c ------------------------------------------------------------------- */

void gale__sim_sockopts_default(const struct gale_sim_state *state, struct sim_fd *fd);
int gale__sim_op_sockopt_set(struct gale_sim_state *state, int fd, enum gale_sockopt opt,
			     int value);
int gale__sim_op_sockopt_get(struct gale_sim_state *state, int fd, enum gale_sockopt opt,
			     int *value_out);
int gale__sim_op_socket_error_take(struct gale_sim_state *state, int fd);
int gale__sim_op_addr_local(struct gale_sim_state *state, int fd,
			    struct sockaddr_storage *addr_out, socklen_t *addr_len_out);
int gale__sim_op_addr_peer(struct gale_sim_state *state, int fd,
			   struct sockaddr_storage *addr_out, socklen_t *addr_len_out);

#endif /* GALE_SIM_SRC_SIM_INTERNAL_H */
