/*
 * Server-to-client invokes (the reference's socket.invoke): a packet with a
 * cid the client answers with {"rid":cid,...}. Each call ends exactly once:
 * with the client's answer, a TimeoutError, or a BadConnectionError when
 * the socket goes first. Calls are on the host's list, so shutdown ends
 * them too.
 */
#ifndef AG_RPC_H
#define AG_RPC_H

#include <stddef.h>

#include "worker/agplugin.h"
#include "worker/scp.h"

struct conn;
struct rpc_call;

/* Sends {"event":event,"cid":n[,"data":data]} (data raw JSON, NULL: none)
 * and waits timeout_ms (<= 0: 10000, the reference's ackTimeout) for the
 * answer. Returns 0, or -1 (fn is never called) when c is not open. */
int rpc_invoke(struct conn *c, const char *event, const char *data,
    long timeout_ms, agplugin_response_fn fn, void *arg);
/* A response packet from c: rid is the raw number text, error and data
 * raw JSON (p NULL when absent). Unknown rids are ignored, as the
 * reference does. */
void rpc_response(struct conn *c, struct scp_span rid, struct scp_span error,
    struct scp_span data);
/* c is being freed: its calls end with BadConnectionError. */
void rpc_socket_gone(struct conn *c);

#endif
