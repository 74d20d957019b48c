/*
 * Rendezvous (highest-random-weight) hashing: which broker owns a channel.
 *
 * Every node gets a weight per channel; the node with the highest weight
 * owns the channel. Adding a node moves to it only the channels it now wins;
 * removing one moves only its own channels. Every worker computes the same
 * answer independently, so the keys below are compiled in and never random:
 * changing them (or the byte layout) reshuffles a running cluster and needs a
 * new envelope version. docs/envelopes.md states the rule.
 *
 *   node id = SipHash-2-4(key "agcluster-nid-v1", node name)
 *   weight  = SipHash-2-4(key "agcluster-hrw-v1",
 *                         node id as 8 bytes little-endian || channel)
 *
 * The highest weight wins; equal weights go to the larger node id.
 */
#ifndef AG_HRW_H
#define AG_HRW_H

#include <stddef.h>
#include <stdint.h>

/* hrw_owner's result for an empty node set. */
#define HRW_EMPTY (-1)

/* Returns the stable id of the node named by the len bytes at name (for
 * example a broker's name or address). Borrows name for the call. */
uint64_t hrw_node_id(const void *name, size_t len);

/* Returns the weight of node id for the channel of len bytes at chan.
 * Borrows chan for the call. */
uint64_t hrw_weight(uint64_t id, const void *chan, size_t len);

/*
 * Chooses the owner of the channel of len bytes at chan among the n nodes
 * whose ids are ids[0..n). Borrows ids and chan for the call.
 *
 * Returns 0 and sets *owner to the index of the owner; the same ids in any
 * order give the same node (when ids are distinct; among duplicate ids the
 * first index wins). Returns HRW_EMPTY, leaving *owner alone, when n is 0.
 */
int hrw_owner(const uint64_t *ids, size_t n, const void *chan, size_t len,
    size_t *owner);

#endif
