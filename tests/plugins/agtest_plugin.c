/*
 * The plugin the integration tests load (tests/integration/plugin.test.mjs):
 * procedures and receivers exercising every call of worker/agplugin.h,
 * including answers that arrive after the invoking socket has gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/agplugin.h"

int agplugin_init(struct agplugin_host *host);

static struct agplugin_host *host;

/* Returns 1 if the request's data (a JSON object) contains the text s. */
static int
data_has(struct agplugin_request *r, const char *s)
{
	size_t n = 0;
	const char *d = agplugin_request_data(r, &n);
	char buf[512];

	if (d == NULL || n >= sizeof(buf)) {
		return 0;
	}
	memcpy(buf, d, n);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static void
echo(struct agplugin_request *r, void *arg)
{
	size_t n = 0;
	const char *d = agplugin_request_data(r, &n);
	char buf[4096];

	if (d == NULL || n >= sizeof(buf)) {
		agplugin_request_end(r, NULL);
		return;
	}
	memcpy(buf, d, n);
	buf[n] = '\0';
	agplugin_request_end(r, buf);
}

/* The guide's login: answer first, then set the token (spec T06). */
static void
login(struct agplugin_request *r, void *arg)
{
	struct agplugin_socket *s = agplugin_request_socket(r);

	if (!data_has(r, "\"username\":\"alice\"")
	    || !data_has(r, "\"password\":\"pw\"")) {
		agplugin_request_error(
		    r, "LoginError", "Invalid user credentials");
		return;
	}
	agplugin_request_end(r, NULL);
	agplugin_set_auth_token(s,
	    "{\"username\":\"alice\",\"channels\":[\"allowed\",\"upper\","
	    "\"private/alice\"]}",
	    0);
}

static void
plain_error(struct agplugin_request *r, void *arg)
{
	agplugin_request_error(r, NULL, "A plain Error object");
}

static void
answer_later(evutil_socket_t fd, short what, void *arg)
{
	agplugin_request_end(arg, "\"later\"");
}

/* Answers 200 ms later, from the loop: the socket may be gone by then. */
static void
async_echo(struct agplugin_request *r, void *arg)
{
	struct timeval tv = { 0, 200 * 1000 };

	event_base_once(
	    agplugin_base(host), -1, EV_TIMEOUT, answer_later, r, &tv);
}

static void
kick_me(struct agplugin_request *r, void *arg)
{
	struct agplugin_socket *s = agplugin_request_socket(r);

	agplugin_request_end(r, NULL);
	agplugin_kick_out(s, NULL, "\"You have been kicked\"");
}

static void
disconnect_me(struct agplugin_request *r, void *arg)
{
	struct agplugin_socket *s = agplugin_request_socket(r);

	agplugin_request_end(r, NULL);
	agplugin_disconnect(s, 4500, "Server kicked you");
}

static void
whoami(struct agplugin_request *r, void *arg)
{
	struct agplugin_socket *s = agplugin_request_socket(r);
	const char *claims = agplugin_socket_claims(s, NULL);
	char buf[1024];

	snprintf(buf, sizeof(buf), "{\"id\":\"%s\",\"claims\":%s}",
	    agplugin_socket_id(s), claims ? claims : "null");
	agplugin_request_end(r, buf);
}

static void
logout(struct agplugin_request *r, void *arg)
{
	struct agplugin_socket *s = agplugin_request_socket(r);

	agplugin_request_end(r, NULL);
	agplugin_deauthenticate(s);
}

static void
sign(struct agplugin_request *r, void *arg)
{
	char *tok = agplugin_sign_token(host, "{\"sub\":\"svc\"}", 60);
	char buf[2048];

	snprintf(buf, sizeof(buf), "\"%s\"", tok ? tok : "");
	agplugin_free(tok);
	agplugin_request_end(r, buf);
}

/* A receiver: publishes what it received to the channel "receiver-log". */
static void
shout(struct agplugin_socket *s, const char *data, size_t len, void *arg)
{
	char buf[1024];

	if (data == NULL || len >= sizeof(buf)) {
		agplugin_publish(host, "receiver-log", NULL);
		return;
	}
	memcpy(buf, data, len);
	buf[len] = '\0';
	agplugin_publish(host, "receiver-log", buf);
}

/* Vector 43: the server invokes the client's clientProc, clientFail and
 * clientNoReply in turn, then answers with what came back. */
struct invoke_run {
	struct agplugin_request *r;
	char ok[256];
	char fail[256];
};

static void
summarise(const char *error, const char *data, char *out, size_t cap)
{
	snprintf(out, cap, "%s", error != NULL ? error : data ? data : "null");
}

static void
got_no_reply(
    struct agplugin_socket *s, const char *error, const char *data, void *arg)
{
	struct invoke_run *run = arg;
	char out[1024], last[256];

	summarise(error, data, last, sizeof(last));
	snprintf(out, sizeof(out), "{\"ok\":%s,\"fail\":%s,\"noReply\":%s}",
	    run->ok, run->fail, last);
	agplugin_request_end(run->r, out);
	free(run);
}

static void
got_fail(
    struct agplugin_socket *s, const char *error, const char *data, void *arg)
{
	struct invoke_run *run = arg;

	summarise(error, data, run->fail, sizeof(run->fail));
	if (s == NULL
	    || agplugin_invoke(
	           s, "clientNoReply", NULL, 300, got_no_reply, run)
	        != 0) {
		agplugin_request_error(run->r, "TestError", "socket gone");
		free(run);
	}
}

static void
got_ok(
    struct agplugin_socket *s, const char *error, const char *data, void *arg)
{
	struct invoke_run *run = arg;

	summarise(error, data, run->ok, sizeof(run->ok));
	if (s == NULL
	    || agplugin_invoke(
	           s, "clientFail", "{\"please\":\"fail\"}", 0, got_fail, run)
	        != 0) {
		agplugin_request_error(run->r, "TestError", "socket gone");
		free(run);
	}
}

static void
server_invoke(struct agplugin_request *r, void *arg)
{
	struct invoke_run *run = calloc(1, sizeof(*run));

	run->r = r;
	agplugin_invoke(agplugin_request_socket(r), "clientProc",
	    "{\"question\":\"six times seven\"}", 0, got_ok, run);
}

/* The last outcome of an invoke whose socket went away, for the test. */
static char last_abort[256];

static void
got_abort(
    struct agplugin_socket *s, const char *error, const char *data, void *arg)
{
	snprintf(last_abort, sizeof(last_abort), "{\"gone\":%s,\"error\":%s}",
	    s == NULL ? "true" : "false", error != NULL ? error : "null");
}

static void
invoke_and_forget(struct agplugin_request *r, void *arg)
{
	agplugin_invoke(agplugin_request_socket(r), "neverAnswered", NULL,
	    5000, got_abort, NULL);
	agplugin_request_end(r, NULL);
}

static void
last_abort_of(struct agplugin_request *r, void *arg)
{
	agplugin_request_end(r, last_abort[0] ? last_abort : "null");
}

/* rejectOnFailedDelivery: the answer says whether the client confirmed. */
static void
token_confirmed(
    struct agplugin_socket *s, const char *error, const char *data, void *arg)
{
	char out[512];

	snprintf(out, sizeof(out), "{\"error\":%s}", error ? error : "null");
	agplugin_request_end(arg, out);
}

static void
set_token_confirmed(struct agplugin_request *r, void *arg)
{
	if (agplugin_set_auth_token_confirmed(agplugin_request_socket(r),
	        "{\"username\":\"alice\",\"channels\":[\"allowed\"]}", 0,
	        token_confirmed, r)
	    != 0) {
		agplugin_request_error(r, "TestError", "cannot set the token");
	}
}

int
agplugin_init(struct agplugin_host *h)
{
	host = h;
	if (agplugin_procedure(h, "echo", echo, NULL) != 0
	    || agplugin_procedure(h, "echo", echo, NULL) == 0) {
		return -1; /* a name can be registered once */
	}
	agplugin_procedure(h, "login", login, NULL);
	agplugin_procedure(h, "loginPlainError", plain_error, NULL);
	agplugin_procedure(h, "asyncEcho", async_echo, NULL);
	agplugin_procedure(h, "kickMe", kick_me, NULL);
	agplugin_procedure(h, "disconnectMe", disconnect_me, NULL);
	agplugin_procedure(h, "whoami", whoami, NULL);
	agplugin_procedure(h, "logout", logout, NULL);
	agplugin_procedure(h, "sign", sign, NULL);
	agplugin_receiver(h, "shout", shout, NULL);
	agplugin_procedure(h, "serverInvoke", server_invoke, NULL);
	agplugin_procedure(h, "invokeAndForget", invoke_and_forget, NULL);
	agplugin_procedure(h, "lastAbort", last_abort_of, NULL);
	agplugin_procedure(h, "setTokenConfirmed", set_token_confirmed, NULL);
	return 0;
}
