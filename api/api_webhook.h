/* POST /webhooks/gitea: verified (HMAC-SHA256, both header forms), capped, deduplicated on
 * X-Gitea-Delivery (durably: vibn_webhook_deliveries, kept 48 h), mapped from the org to its
 * workspace and enqueued at interactive priority, then 202; all the database work is one
 * round trip on an dbpool thread (vibn_webhook_accept). Other events and unknown orgs: 202
 * and ignored. Every outcome is counted in vibn_webhook_deliveries_total{result}:
 *   accepted, duplicate, unknown_org, ignored, bad_signature, bad_payload,
 *   unsupported_media_type, error */
#ifndef VIBN_API_WEBHOOK_H
#define VIBN_API_WEBHOOK_H

/* Registers the route and starts the periodic prune of old delivery ids (through dbpool,
 * which must be started). secret and previous (GITEA_WEBHOOK_SECRET_PREVIOUS, accepted too
 * while org hooks are rotated to secret; NULL when none) are copied. Call on the loop
 * thread. */
void api_webhook_register(const char *secret, const char *previous);
/* Stops the prune timer and forgets the secret (before dbpool_stop). */
void api_webhook_stop(void);

#endif
