/*
 * The plugin the integration tests load (tests/integration/plugin.test.mjs):
 * procedures and receivers exercising every call of worker/agplugin.h,
 * including answers that arrive after the invoking socket has gone.
 */
#include <stdio.h>
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
	return 0;
}
