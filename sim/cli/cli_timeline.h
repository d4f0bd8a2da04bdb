/* SPDX-License-Identifier: MIT */
/*
 * The timeline model shared by the JSON writer (cli_timeline.c) and the HTML page
 * (cli_timeline_html.c): tracks, events on them, and their labels.
 */
#ifndef GALE_SIM_CLI_CLI_TIMELINE_H
#define GALE_SIM_CLI_CLI_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <gale/sim_trace.h>

#include "cli.h"

/* Track kinds, in display order. */
enum tl_track_kind {
	TL_TRACK_RUNTIME = 0, /* Waits, scheduling picks, notes, the failure. */
	TL_TRACK_TASK,        /* key: task id. */
	TL_TRACK_FD,          /* key: the fd. */
	TL_TRACK_DUPLEX,      /* key: duplex number << 1 | end. */
	TL_TRACK_FAULTS,      /* Faults without an fd (allocation failures...). */
};

/* Event kinds (the page colours them; the JSON names their category). Append only: the
 * page's script knows the numbers. */
enum tl_event_kind {
	TL_EVENT_OP = 0,        /* A driver op that succeeded. */
	TL_EVENT_OP_BLOCKED,    /* -EAGAIN, -EINPROGRESS. */
	TL_EVENT_OP_ERROR,      /* Another error. */
	TL_EVENT_READY,         /* A readiness event handed out. */
	TL_EVENT_CLEAR,         /* Readiness cleared. */
	TL_EVENT_FAULT,         /* A fault injected. */
	TL_EVENT_POLL_PENDING,  /* A poll that returned Pending. */
	TL_EVENT_POLL_READY,    /* A poll that finished the task with 0. */
	TL_EVENT_POLL_ERROR,    /* A poll that finished the task with an error. */
	TL_EVENT_WAIT,          /* The driver's wait (time passing). */
	TL_EVENT_NOTE,          /* A scheduling pick or a scenario note. */
	TL_EVENT_FAILURE,       /* The oracle's failure. */
	TL_EVENT_DUPLEX,        /* Bytes through an observed duplex end. */
	TL_EVENT_COUNT
};

struct tl_track {
	enum tl_track_kind kind; /* What it shows. */
	uint64_t key;            /* Which one (see enum tl_track_kind). */
	char name[96];           /* "task 'client'", "fd 1048578"... */
	bool open;               /* Tasks: a poll has begun and not ended. */
	uint64_t open_seq;       /* Its beginning: position, */
	int64_t open_t;          /* display time, */
	uint64_t open_step;      /* and trace step. */
};

struct tl_event {
	uint64_t seq0;    /* Position of its beginning in the merged records (0, 1...). */
	uint64_t seq1;    /* Of its end (seq0 for an instant). */
	int64_t t0;       /* Display time of its beginning, ns (virtual, spread). */
	int64_t t1;       /* Of its end. */
	int64_t time_ns;  /* Virtual time of the record. */
	uint64_t step;    /* Trace step (for a poll: of its beginning). */
	uint32_t track;   /* Index into the model's tracks. */
	uint32_t label;   /* Index into the labels. */
	uint8_t kind;     /* enum tl_event_kind. */
	int fd;           /* The record's fd, or -1. */
	uint16_t op;      /* The record's op (a fault's kind...). */
	int64_t a;        /* The record's argument. */
	int64_t result;   /* The record's result. */
};

struct tl_labels {
	char **strings;   /* Owned. */
	size_t len;       /* Used. */
	size_t cap;       /* Capacity. */
	uint32_t *slots;  /* Hash table: index + 1, 0 empty. */
	size_t slots_cap; /* A power of two. */
};

struct tl_token {
	uint64_t token; /* A reactor token. */
	int fd;         /* The fd registered under it. */
};

struct tl_model {
	const struct gale_trace *trace; /* Borrowed (task names). */
	struct tl_track *tracks;        /* Display order once built. */
	size_t tracks_len;
	size_t tracks_cap;
	struct tl_event *events;        /* By seq0 once built. */
	size_t events_len;
	size_t events_cap;
	struct tl_labels labels;
	struct tl_token *tokens;        /* Registrations seen, latest last. */
	size_t tokens_len;
	size_t tokens_cap;
	uint64_t seq;                   /* Position of the current item. */
	int64_t t;                      /* Its display time. */
	int64_t t_prev;                 /* The previous item's. */
	bool failure_placed;            /* The failure event is in. */
};

/* 0, or -ENOMEM (nothing to deinit then). */
int cli_timeline_model_build(const struct gale_trace *trace, const struct cli_timeline_run *run,
			     struct tl_model *model);
void cli_timeline_model_deinit(struct tl_model *model);

void cli_timeline_write_json(const struct tl_model *model, const struct cli_timeline_run *run,
			     FILE *out);
void cli_timeline_write_html(const struct tl_model *model, const struct cli_timeline_run *run,
			     FILE *out);

/* text as a JSON string body; with html, '<', '>' and '&' as \u escapes too (so the text
 * can sit inside a <script> element). */
void cli_timeline_escape(FILE *out, const char *text, bool html);
/* True for the kinds drawn as slices (with a duration); the rest are instants. */
bool cli_timeline_kind_is_slice(enum tl_event_kind kind);

#endif /* GALE_SIM_CLI_CLI_TIMELINE_H */
