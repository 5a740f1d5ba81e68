/* Bridges the daemon builds between capabilities that must not know each other: the core
 * network's UE events feed the analytics (signalling features, UE address mapping), and the
 * location capability's findings reach the policy, as the analytics' findings do. */
#ifndef IOTSEC_DAEMON_BRIDGES_H
#define IOTSEC_DAEMON_BRIDGES_H

#include "analytics/analytics.h"
#include "location/location.h"
#include "policy/policy.h"

/* Registers the bridges on loc (before events flow). a and ps are borrowed and must outlive
 * every event: free them after the servers stop. */
int daemon_bridge_location(struct location *loc, struct analytics *a, struct policy_service *ps,
                           uint32_t window_s);

#endif
