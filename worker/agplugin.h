/*
 * The public plugin API of ag-worker (version 1). A plugin is a shared
 * object given with --plugin=path.so (repeatable); it exports
 *
 *     int agplugin_init(struct agplugin_host *host);
 *
 * which registers procedures, receivers and middleware and returns 0
 * (non-zero stops the worker from starting). It may also export
 *
 *     void agplugin_fini(void);
 *
 * which the worker calls when it stops, before unloading the plugin: the
 * place to free what agplugin_init allocated. Everything runs on the worker's
 * single thread, inside its libevent loop: a plugin that waits for a database
 * or an HTTP call does so with events on agplugin_base(), never by blocking.
 *
 * Ownership: strings passed in are borrowed for the call only; strings the
 * API returns are borrowed from the worker and valid until the callback
 * returns, except where it says "owned". A request must be answered exactly
 * once, now or later; answering frees it. If its socket closes before the
 * answer, the answer is simply dropped (agplugin_request_socket then
 * returns NULL), so a slow backend can never touch a freed socket.
 *
 * Version 2 adds middleware (agplugin_middleware and the agplugin_action_*
 * functions) and the HTTP request's URL and headers; a version 1 plugin
 * works unchanged.
 */
#ifndef AGPLUGIN_H
#define AGPLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#define AGPLUGIN_API_VERSION 2

struct agplugin_host;
struct agplugin_socket;
struct agplugin_request;
struct agplugin_action;

/* A procedure: a client invoke of this name, with a cid, to answer once. */
typedef void (*agplugin_procedure_fn)(struct agplugin_request *req, void *arg);
/* A receiver: a client transmit of this name; data is raw JSON (NULL when
 * the packet had none). */
typedef void (*agplugin_receiver_fn)(
    struct agplugin_socket *s, const char *data, size_t len, void *arg);

/* Registers fn for invokes of name; returns 0, or -1 if name is taken. */
int agplugin_procedure(struct agplugin_host *h, const char *name,
    agplugin_procedure_fn fn, void *arg);
/* Registers fn for transmits of name; returns 0, or -1 if name is taken. */
int agplugin_receiver(struct agplugin_host *h, const char *name,
    agplugin_receiver_fn fn, void *arg);
/* The worker's event loop, for a plugin's own asynchronous work. */
struct event_base *agplugin_base(struct agplugin_host *h);

/* The request's data as raw JSON (NULL when none); borrowed from the
 * request, valid until it is answered. */
const char *agplugin_request_data(struct agplugin_request *r, size_t *len);
/* The socket that invoked, or NULL when it has closed meanwhile. */
struct agplugin_socket *agplugin_request_socket(struct agplugin_request *r);
/* Answers {"rid":n[,"data":<data_json>]} (data_json NULL: no data) and
 * frees the request. */
void agplugin_request_end(struct agplugin_request *r, const char *data_json);
/* Answers {"rid":n,"error":{"message":...,"name":...}} and frees the
 * request. name may be NULL (a plain Error: only the message is sent). */
void agplugin_request_error(
    struct agplugin_request *r, const char *name, const char *message);

/* The socket's id, as its client knows it. */
const char *agplugin_socket_id(struct agplugin_socket *s);
/* The client's address, "ip:port". */
const char *agplugin_socket_remote(struct agplugin_socket *s);
/* The claims of the socket's verified token as a JSON object, or NULL
 * when it is not authenticated. */
const char *agplugin_socket_claims(struct agplugin_socket *s, size_t *len);
/* Returns 1 when the socket's token has a claim called claim that is an
 * array with the string value (len bytes) in it, else 0. */
int agplugin_socket_claim_lists(struct agplugin_socket *s, const char *claim,
    const char *value, size_t len);
/*
 * Signs claims_json (a JSON object) with the cluster's key, adding iat and
 * exp (now + expires_in seconds; 0: auth_default_expiry), makes it the
 * socket's token and sends {"event":"#setAuthToken","data":{"token":...}}.
 * Returns 0, or -1 when the claims are not an object or signing failed
 * (nothing is sent).
 */
int agplugin_set_auth_token(
    struct agplugin_socket *s, const char *claims_json, long long expires_in);
/* Forgets the socket's token and sends {"event":"#removeAuthToken"}. */
void agplugin_deauthenticate(struct agplugin_socket *s);
/* Unsubscribes the socket from channel (NULL: every channel) and sends one
 * #kickOut per channel with message_json (raw JSON, may be NULL). */
void agplugin_kick_out(
    struct agplugin_socket *s, const char *channel, const char *message_json);
/* Closes the socket with code and reason (reason may be NULL). */
void agplugin_disconnect(
    struct agplugin_socket *s, int code, const char *reason);

/* Publishes data_json (raw JSON; NULL: no data) to channel from the server,
 * through the cluster when there is one. Returns 0, or -1 when the
 * channel's broker is unreachable. */
int agplugin_publish(
    struct agplugin_host *h, const char *channel, const char *data_json);
/* Returns an owned token for claims_json (free with agplugin_free), or
 * NULL when the claims are not an object or signing failed. */
char *agplugin_sign_token(
    struct agplugin_host *h, const char *claims_json, long long expires_in);
void agplugin_free(void *p);

/*
 * Invokes a procedure on the client (the reference's socket.invoke):
 * sends {"event":event,"cid":n,"data":data_json} (data_json raw JSON, NULL:
 * no data). fn is called exactly once: with the client's answer (error_json
 * NULL and data_json its data, NULL when none; or error_json its error), or
 * with a TimeoutError after timeout_ms (<= 0: 10000), or with a
 * BadConnectionError when the socket closes first (s is then NULL).
 * Returns 0, or -1 when the socket is not open (fn is never called).
 */
typedef void (*agplugin_response_fn)(struct agplugin_socket *s,
    const char *error_json, const char *data_json, void *arg);
int agplugin_invoke(struct agplugin_socket *s, const char *event,
    const char *data_json, long timeout_ms, agplugin_response_fn fn,
    void *arg);
/* agplugin_set_auth_token, with the reference's rejectOnFailedDelivery:
 * #setAuthToken is sent as an invoke, and fn learns whether the client
 * confirmed it (error_json NULL) or not (an AuthError "Failed to deliver
 * auth token to client - ..."). Returns 0, or -1 as set_auth_token. */
int agplugin_set_auth_token_confirmed(struct agplugin_socket *s,
    const char *claims_json, long long expires_in, agplugin_response_fn fn,
    void *arg);

/* The HTTP request that opened the socket: its target ("/path?query"),
 * and the value of a header (case-insensitive name; the first when
 * repeated), or NULL when absent. Borrowed until the callback returns. */
const char *agplugin_socket_url(struct agplugin_socket *s, size_t *len);
const char *agplugin_socket_header(
    struct agplugin_socket *s, const char *name, size_t *len);

/*
 * Middleware (docs/plugins.md), as the reference's: every action of a type
 * passes through the middleware registered for it, in registration order,
 * and each must settle it exactly once, now or later, with allow, allow_data
 * or block. A socket's inbound packets are handled strictly in order: while
 * one of its actions is pending, nothing after it is read. Its outbound
 * publishes stay in order too. If the socket closes meanwhile, settling
 * just frees the action (agplugin_action_socket then returns NULL).
 */
enum agplugin_middleware_type {
	AGPLUGIN_MIDDLEWARE_HANDSHAKE,   /* HANDSHAKE_WS, HANDSHAKE_SC */
	AGPLUGIN_MIDDLEWARE_INBOUND_RAW, /* MESSAGE */
	AGPLUGIN_MIDDLEWARE_INBOUND,     /* TRANSMIT ... AUTHENTICATE */
	AGPLUGIN_MIDDLEWARE_OUTBOUND,    /* PUBLISH_OUT */
};

enum agplugin_action_type {
	AGPLUGIN_HANDSHAKE_WS, /* the HTTP upgrade; block: 401 */
	AGPLUGIN_HANDSHAKE_SC, /* the #handshake; block: error, then close */
	AGPLUGIN_MESSAGE,      /* a raw message; block: dropped silently */
	AGPLUGIN_TRANSMIT,     /* name: the receiver */
	AGPLUGIN_INVOKE,       /* name: the procedure */
	AGPLUGIN_SUBSCRIBE,    /* name: the channel; data: its options' data */
	AGPLUGIN_PUBLISH_IN,   /* name: the channel */
	AGPLUGIN_PUBLISH_OUT,  /* name: the channel; per recipient */
	AGPLUGIN_AUTHENTICATE, /* data: the verified token's claims */
};

typedef void (*agplugin_middleware_fn)(struct agplugin_action *a, void *arg);

/* Adds fn to the middleware of type; returns 0, or -1 for a bad type. */
int agplugin_middleware(struct agplugin_host *h,
    enum agplugin_middleware_type type, agplugin_middleware_fn fn, void *arg);

enum agplugin_action_type agplugin_action_type(struct agplugin_action *a);
/* The socket, or NULL when it has closed meanwhile. For HANDSHAKE_WS the
 * socket has no id yet; its remote address, URL and headers are set. */
struct agplugin_socket *agplugin_action_socket(struct agplugin_action *a);
/* The receiver, procedure or channel name; NULL for other types. */
const char *agplugin_action_name(struct agplugin_action *a, size_t *len);
/* The action's data: raw JSON, or NULL when the packet had none; the raw
 * message for MESSAGE; for HANDSHAKE_SC the object {"signedAuthToken",
 * "authTokenError","authToken","authState"} of the reference. As replaced
 * by an earlier middleware's allow_data. Borrowed until settled. */
const char *agplugin_action_data(struct agplugin_action *a, size_t *len);

/* Lets the action go on unchanged. */
void agplugin_action_allow(struct agplugin_action *a);
/* Lets it go on with data replaced by data_json (raw JSON; for MESSAGE
 * the new raw message). */
void agplugin_action_allow_data(
    struct agplugin_action *a, const char *data_json);
/* Blocks it with an error {"message":message,"name":name} (name may be
 * NULL). With message NULL the block is silent: the client gets the
 * reference's SilentMiddlewareBlockedError. */
void agplugin_action_block(
    struct agplugin_action *a, const char *name, const char *message);
/* Blocks it with error_json, a JSON object sent as it is. Its members
 * "statusCode" (HANDSHAKE_SC: the close code, default 4008), "isBadToken"
 * (AUTHENTICATE: also forget the token) and "silent" (true: a silent
 * block) act as in the reference. Not an object: a silent block. */
void agplugin_action_block_json(
    struct agplugin_action *a, const char *error_json);

#endif
