/*
 * The rules of configuration (docs/rules.md) as built-in inbound
 * middleware: publish_channels_claim and subscribe_channels_claim. They
 * run before every plugin's middleware, through the same engine.
 */
#ifndef AG_RULES_H
#define AG_RULES_H

struct agplugin_host;
struct agconf;

/* Installs the rules conf asks for (none when both claims are empty). */
void rules_init(struct agplugin_host *h, const struct agconf *conf);

#endif
