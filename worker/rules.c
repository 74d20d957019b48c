#include "rules.h"

#include "common/agconf.h"
#include "common/strbuf.h"
#include "worker/mw.h"

/* Blocks a with name and the message head + channel + tail. */
static void
block(struct agplugin_action *a, const char *name, const char *head,
    const char *tail)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, head);
	sb_add(&sb, a->name, a->name_len);
	sb_adds(&sb, tail);
	sb_addc(&sb, '\0');
	agplugin_action_block(a, name, sb.data);
	sb_fini(&sb);
}

static void
publish_rule(struct agplugin_action *a, void *claim)
{
	if (a->type != AGPLUGIN_PUBLISH_IN
	    || agplugin_socket_claim_lists(
	        agplugin_action_socket(a), claim, a->name, a->name_len)) {
		agplugin_action_allow(a);
		return;
	}
	block(a, "PublishError", "You are not authorized to publish to the ",
	    " channel");
}

static void
subscribe_rule(struct agplugin_action *a, void *claim)
{
	if (a->type != AGPLUGIN_SUBSCRIBE
	    || agplugin_socket_claim_lists(
	        agplugin_action_socket(a), claim, a->name, a->name_len)) {
		agplugin_action_allow(a);
		return;
	}
	block(a, "SubscribeError", "You are not allowed to subscribe to ", "");
}

void
rules_init(struct agplugin_host *h, const struct agconf *conf)
{
	/* Added first-in-front: the subscribe rule ends up first. */
	if (conf->publish_channels_claim[0] != '\0') {
		mw_add_first(h, AGPLUGIN_MIDDLEWARE_INBOUND, publish_rule,
		    (void *) conf->publish_channels_claim);
	}
	if (conf->subscribe_channels_claim[0] != '\0') {
		mw_add_first(h, AGPLUGIN_MIDDLEWARE_INBOUND, subscribe_rule,
		    (void *) conf->subscribe_channels_claim);
	}
}
