/* SPDX-License-Identifier: MIT */
/*
 * The trace of a simulated run: every choice and every driver result, in order.
 *
 * A trace always keeps a running 64-bit hash (so campaigns compare runs cheaply) and, when
 * asked, the records themselves (for replay dumps and for finding the first event where
 * two runs of one seed differ — the determinism self-check). Records hold numbers only:
 * no pointers, no wall-clock times, so equal runs give equal traces bit for bit.
 */
#ifndef GALE_SIM_SIM_TRACE_H
#define GALE_SIM_SIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/alloc.h>
#include <gale/common.h>
#include <gale/driver.h>

GALE_BEGIN_DECLS

/* What a record is about. Append only (values are part of the trace hash). */
enum gale_trace_kind {
	GALE_TRACE_CHOICE = 1,   /* An entropy draw: a = what was drawn for, result = value. */
	GALE_TRACE_OP = 2,       /* A driver op: op = enum gale_trace_op, fd, result. */
	GALE_TRACE_EVENT = 3,    /* A readiness event handed out: a = token, result = bits. */
	GALE_TRACE_FAULT = 4,    /* A fault injected: op = enum gale_fault_kind, fd. */
	GALE_TRACE_SCHEDULE = 5, /* The scheduler picked a task: a = index, result = count. */
	GALE_TRACE_NOTE = 6,     /* Scenario-defined: op = user code, a, result. */
	/*
	 * Side records (gale_trace_side_append()): what the scenario runner saw around the
	 * driver, for timelines. Never hashed, never counted, never given a step of their own.
	 */
	GALE_TRACE_POLL = 7,     /* A task poll: op = GALE_TRACE_POLL_BEGIN or _END, a = task
				  * id (struct gale_task_handle), result = what the poll
				  * returned (at the end; 0 at the beginning). */
	GALE_TRACE_REGISTER = 8, /* The reactor registered fd under token a. */
	GALE_TRACE_CLEAR = 9,    /* The reactor cleared readiness of fd (token a): result =
				  * the READ/WRITE bits cleared. */
	GALE_TRACE_DUPLEX = 10,  /* An observed duplex moved bytes: fd = the duplex's number
				  * in the run (0, 1...), a = the end (0 or 1), op =
				  * GALE_TRACE_DUPLEX_WRITE or _READ, result = bytes (a read of
				  * 0 is the end of stream). */
};

/* GALE_TRACE_POLL and GALE_TRACE_DUPLEX side records: which edge or direction. */
enum {
	GALE_TRACE_POLL_BEGIN = 0,
	GALE_TRACE_POLL_END = 1,
	GALE_TRACE_DUPLEX_WRITE = 0,
	GALE_TRACE_DUPLEX_READ = 1,
};

/* A task's name as the runner knows it (gale_trace_name_set()). */
struct gale_trace_name {
	uint64_t id;   /* The task id. */
	char name[64]; /* Its name, NUL-terminated (cut to fit). */
};

/*
 * Driver ops, as recorded: GALE_TRACE_OP_<OP> for every op of GALE_DRIVER_OP_MAP that has
 * an id, with the same value as GALE_DRIVER_OP_<OP> (1 for fd_register, in list order:
 * append only, as traces and fault plans store them).
 */
enum gale_trace_op {
#define GALE__TRACE_OP_ID(op, OP, ...) GALE_TRACE_OP_##OP = GALE_DRIVER_OP_##OP,
	GALE_DRIVER_OP_MAP(GALE__TRACE_OP_ID, GALE_DRIVER_OP_MAP_SKIP)
#undef GALE__TRACE_OP_ID
	GALE_TRACE_OP_COUNT_ = GALE_DRIVER_OP_COUNT_,
};

struct gale_trace_record {
	uint64_t step;    /* Sequence number in the run (0, 1, 2...). */
	int64_t time_ns;  /* Virtual time when recorded. */
	uint16_t kind;    /* enum gale_trace_kind. */
	uint16_t op;      /* enum gale_trace_op, gale_fault_kind or user code. */
	int32_t fd;       /* Virtual fd involved, or -1. */
	uint64_t a;       /* Kind-specific argument (length, token, index...). */
	int64_t result;   /* The op's result, the drawn value, the ready bits... */
};

struct gale_trace {
	/* Private: do not touch. */
	const struct gale_allocator *priv_allocator; /* For the records array. */
	struct gale_trace_record *priv_records;      /* NULL unless keeping records. */
	size_t priv_records_len;                     /* Records kept. */
	size_t priv_records_cap;                     /* Capacity. */
	size_t priv_records_max;                     /* Keep at most this many (0 = none). */
	uint64_t priv_count;                         /* Records seen (kept or not). */
	uint64_t priv_hash;                          /* Running hash of all records. */
	struct gale_trace_record *priv_side;         /* Side records kept, or NULL. */
	size_t priv_side_len;                        /* Side records kept. */
	size_t priv_side_cap;                        /* Capacity. */
	struct gale_trace_name *priv_names;          /* Task names, or NULL. */
	size_t priv_names_len;                       /* Names kept. */
	size_t priv_names_cap;                       /* Capacity. */
};

/**
 * @param allocator     NULL: default. Used only when records_max > 0.
 * @param records_max   how many records to keep for dumps/divergence (0: hash only). When
 *                      more arrive, later ones are hashed but not kept.
 */
GALE_EXTERN void gale_trace_init(struct gale_trace *trace, const struct gale_allocator *allocator,
				 size_t records_max);

/** Frees kept records. Idempotent on a zeroed trace. */
GALE_EXTERN void gale_trace_deinit(struct gale_trace *trace);

/**
 * Appends a record (its step is overwritten with the next sequence number). Never fails:
 * if keeping a record cannot allocate, the record is still hashed and counted, and
 * gale_trace_is_truncated() becomes true.
 */
GALE_EXTERN void gale_trace_append(struct gale_trace *trace, struct gale_trace_record record);

/** The running hash over every record appended so far (FNV-1a over the record fields). */
GALE_EXTERN uint64_t gale_trace_hash(const struct gale_trace *trace);

/** Records appended (kept or not). */
GALE_EXTERN uint64_t gale_trace_count(const struct gale_trace *trace);

/** Kept records (index < gale_trace_kept_count()); borrowed until the next append. */
GALE_EXTERN const struct gale_trace_record *gale_trace_records(const struct gale_trace *trace);
GALE_EXTERN size_t gale_trace_kept_count(const struct gale_trace *trace);

/** True when some records were hashed but not kept. */
GALE_EXTERN bool gale_trace_is_truncated(const struct gale_trace *trace);

/**
 * Index of the first kept record where a and b differ, or the shorter length if one is a
 * prefix of the other, or SIZE_MAX when both kept sequences are identical.
 */
GALE_EXTERN size_t gale_trace_first_divergence(const struct gale_trace *a,
					       const struct gale_trace *b);

/**
 * Formats one record as a line of text (no newline), e.g.
 * "#42 t=1.000250ms op read fd=1048579 a=4096 -> 17" (a negative result is followed by
 * its name: "-> -11 EAGAIN"). buf may be NULL when buf_len is 0. @return the length that
 * would have been written (snprintf semantics).
 */
GALE_EXTERN int gale_trace_record_format(const struct gale_trace_record *record, char *buf,
					 size_t buf_len);

/**
 * Keeps a side record (GALE_TRACE_POLL, _REGISTER, _CLEAR, _DUPLEX): what a timeline shows
 * besides the records, which the trace hash, gale_trace_count() and the steps of the
 * records never see, so adding side records changes no trace hash. Its step is
 * overwritten with gale_trace_count(): the step of the next record, so a side record sits
 * between the records it happened between. Kept only while records are kept (records_max
 * > 0 and the trace is not truncated), at most records_max of them; otherwise, or when
 * the allocator says no, it is dropped. Never fails.
 */
GALE_EXTERN void gale_trace_side_append(struct gale_trace *trace,
					struct gale_trace_record record);

/** Kept side records, in the order appended; borrowed until the next side append. */
GALE_EXTERN const struct gale_trace_record *gale_trace_side_records(const struct gale_trace *trace);
GALE_EXTERN size_t gale_trace_side_count(const struct gale_trace *trace);

/**
 * Remembers the name of task id for timelines (copied; a later call for the same id
 * replaces it). Kept only when records are (records_max > 0); not hashed. Never fails: a
 * name that cannot be kept is dropped.
 */
GALE_EXTERN void gale_trace_name_set(struct gale_trace *trace, uint64_t id, const char *name);

/** The name kept for task id, or NULL. Borrowed until the next gale_trace_name_set(). */
GALE_EXTERN const char *gale_trace_name_get(const struct gale_trace *trace, uint64_t id);

/** Name of a driver op as recorded ("read", "wait"...): gale_driver_op_name(). */
GALE_EXTERN const char *gale_trace_op_name(enum gale_trace_op op);

GALE_END_DECLS

#endif /* GALE_SIM_SIM_TRACE_H */
