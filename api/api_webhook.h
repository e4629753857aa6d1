/* POST /webhooks/gitea: verified (HMAC-SHA256, both header forms), capped, deduplicated on
 * X-Gitea-Delivery (durably: vibn_webhook_deliveries, kept 48 h), mapped from the org to its
 * workspace and enqueued at interactive priority, then 202; all the database work is one
 * round trip on an dbpool thread (vibn_webhook_accept). Other events and unknown orgs: 202
 * and ignored. Every outcome is counted in vibn_webhook_deliveries_total{result}:
 *   accepted, duplicate, unknown_org, ignored, bad_signature, bad_payload,
 *   unsupported_media_type, spooled, error
 *
 * No lost delivery: when the database does not take a delivery that passed every check
 * (unreachable, no answer within VIBN_API_TIMEOUT, queue full, shutting down), it is
 * written to the disk spool (api/spool.h) and answered 202 {"result":"spooled"}; it is
 * replayed, oldest first, through the same checks and batch as a live one as soon as the
 * database answers again (also after a restart), and its file is deleted once its batch
 * committed. The signature is checked with GITEA_WEBHOOK_SECRET (configuration, not the
 * database), so it is verified before anything is spooled and again at replay: nothing
 * unverified is spooled, and a file planted in the folder enqueues nothing. When the spool
 * is full the answer is 503 as without it (counted, logged once a minute). */
#ifndef VIBN_API_WEBHOOK_H
#define VIBN_API_WEBHOOK_H

struct spool;

/* Registers the route and starts the periodic prune of old delivery ids (through dbpool,
 * which must be started). secret and previous (GITEA_WEBHOOK_SECRET_PREVIOUS, accepted too
 * while org hooks are rotated to secret; NULL when none) are copied. spool (taken: closed
 * by api_webhook_close; NULL: none, a delivery the database does not take gets 503) is
 * replayed at once when it holds deliveries. Call on the loop thread. */
void api_webhook_register(const char *secret, const char *previous, struct spool *spool);
/* The database is reachable again (e.g. the LISTEN connection came back): replay the
 * spool now rather than at the next backoff. Loop thread. */
void api_webhook_kick(void);
/* Stops the timers (before dbpool_stop, whose queued deliveries are still spooled). */
void api_webhook_stop(void);
/* Closes the spool and forgets the secrets (after dbpool_stop: a replay may be running). */
void api_webhook_close(void);

#endif
