/*
 * The SocketCluster protocol on an open WebSocket (spec §2–§6, §9): the
 * handshake, pings and the pong timeout, event dispatch, and pub/sub over
 * the worker's channel index. Works on struct conn; never frees it.
 */
#ifndef AG_SESSION_H
#define AG_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "worker/scp.h"
#include "worker/ws.h"

struct conn;
struct server;
struct chidx_chan;
struct mw_pub;

/* The WebSocket just opened: arms the handshake and pong timers. */
void sess_on_open(struct conn *c, uint64_t now);
/* A whole text or binary message arrived. */
void sess_on_message(struct conn *c, const struct ws_msg *m, uint64_t now);
/* The connection's deadline passed: handshake timeout, pong timeout, or
 * time to ping. */
void sess_on_timer(struct conn *c, uint64_t now);
/* Returns the next time sess_on_timer must run. */
uint64_t sess_next_deadline(const struct conn *c);
/*
 * Delivers a publish to this worker's subscribers of the channel: builds the
 * #publish frame once and queues the same bytes on each. data is raw JSON
 * (p NULL: no data). Used for local publishes and for the broker's
 * deliveries.
 */
void sess_publish_local(
    struct server *s, const char *name, size_t n, struct scp_span data);
/* Sends one publish to c: p's shared frame (data NULL), or a frame with
 * data instead of p's (the outbound middleware replaced it). */
void sess_deliver(
    struct conn *c, struct mw_pub *p, const char *data, size_t len);
/* An inbound action of c settled later: handles the packets after it,
 * then reads again. */
void sess_resume(struct conn *c);
/* The owner broker has this worker's subscription to the channel ch (as it
 * is now: cluster.c checks which SUB was answered): answers the subscribes
 * that were waiting for it. */
void sess_channel_confirmed(struct server *s, struct chidx_chan *ch);
/* Server-side operations (the plugin API's). */
/* The socket's verified claims (JSON object), or NULL. */
const char *sess_claims(struct conn *c, size_t *len);
/* Returns an owned token for the claims (expires_in <= 0: the default
 * expiry), or NULL after logging why. */
char *sess_sign_token(struct server *s, const char *claims, size_t len,
    long long expires_in, size_t *out_len);
/* Signs, makes it the socket's token; returns the token (owned) or NULL
 * when the socket is not open or signing failed. */
char *sess_take_token(struct conn *c, const char *claims, size_t len,
    long long expires_in, size_t *out_len);
/* Sends one packet (JSON text), in the socket's batch if it has one. */
void sess_send(struct conn *c, const char *json, size_t n);
/* Signs, makes it the socket's token, sends #setAuthToken; 0 or -1. */
int sess_set_auth_token(
    struct conn *c, const char *claims, size_t len, long long expires_in);
/* Drops the socket's token and sends #removeAuthToken. */
void sess_deauthenticate(struct conn *c);
/* Unsubscribes from channel (NULL: all), one #kickOut per channel. */
void sess_kick_out(
    struct conn *c, const char *channel, size_t n, const char *message_json);
/* A publish from the server: through the cluster, or local. 0 or -1. */
int sess_server_publish(
    struct server *s, const char *name, size_t n, struct scp_span data);
/* The close frame is about to be queued: sends what is still batched. */
void sess_before_close(struct conn *c);
/* The connection is closing: leaves every channel. */
void sess_on_close(struct conn *c);

#endif
