/* store.h - the state directory: layout, lock, accounts, certificate versions */
#ifndef RENEWD_STORE_H
#define RENEWD_STORE_H

#include <stddef.h>

/*
 * Layout (DESIGN.md):
 *   state_dir/renewd.lock                       flock(2)ed while a daemon runs; holds its pid
 *   state_dir/accounts/<ca>/account.key         0600
 *   state_dir/accounts/<ca>/account.key.next    0600, a rollover's new key until the CA confirms it
 *   state_dir/accounts/<ca>/account.json        {"url": "...", "status": "...", "contact": [...]}
 *   state_dir/accounts/<ca>/holds.json          rate limits and 503s held at the account or a URL
 *   state_dir/certs/<name>/<version>/{privkey,cert,chain,fullchain}.pem
 *   state_dir/certs/<name>/live -> <version>    switched by rename(2)
 *   state_dir/certs/<name>/schedule.json        failures, holds, ARI, order in flight
 *   state_dir/certs/<name>/delivery.json        what became of the last delivery
 *   state_dir/certs/<name>/pending.key          the key of the order in flight
 * Directories are 0700, files 0600 unless said otherwise.
 */

struct store;

/*
 * State files are small; anything larger is damage, not data. The cap for
 * fsutil_read_file on files of the state directory, renewctl's included.
 */
#define STORE_FILE_MAX		(16 * 1024 * 1024)

/*
 * Creates state_dir (0700) if needed and takes its lock. Returns NULL with a
 * reason in err if it cannot: another process holds the lock (the reason
 * names the lock file and that process's pid), or the directory belongs to
 * another user or is writable by group or others. Then removes temp files
 * a crash left behind.
 */
struct store	*store_open(const char *state_dir, char *err, size_t errlen);
/* Releases the lock and frees; NULL is a no-op. */
void		 store_close(struct store *);
/* Returns the state directory path. */
const char	*store_path(const struct store *);

/*
 * Loads the account of CA ca. Returns 1 and fills *key_pem (malloc'd) and
 * *url (malloc'd, NULL if the account was never registered) if a key exists,
 * 0 if none, -1 on error (logged).
 */
int		 store_account_load(struct store *, const char *ca,
		    char **key_pem, char **url);
/* Returns the malloc'd path of CA ca's account key (for messages). */
char		*store_account_key_path(const struct store *, const char *ca);
/* Saves the account key (0600). Returns 0 or -1 (logged). */
int		 store_account_save_key(struct store *, const char *ca,
		    const char *key_pem, size_t len);
/* Saves the account URL. Returns 0 or -1 (logged). */
int		 store_account_save_url(struct store *, const char *ca,
		    const char *url);
/*
 * Saves what the CA last said of the account: status (NULL: forgotten)
 * and, with set_contact, its contacts. Returns 0 or -1 (logged).
 */
int		 store_account_save_info(struct store *, const char *ca,
		    const char *status, char *const *contact, size_t ncontact,
		    int set_contact);
/*
 * Reads what save_info kept: *status (malloc'd, NULL if none) and the
 * contacts (*contact malloc'd, each too). Returns 1 if contacts are kept,
 * 0 if not, -1 for a bad CA name.
 */
int		 store_account_info(struct store *, const char *ca,
		    char **status, char ***contact, size_t *ncontact);
/* Saves a rollover's new key as account.key.next (0600, fsync'd). Returns 0 or -1 (logged). */
int		 store_account_save_next(struct store *, const char *ca,
		    const char *key_pem, size_t len);
/* Loads account.key.next: 1 with *key_pem malloc'd, 0 if none, -1 on error (logged). */
int		 store_account_load_next(struct store *, const char *ca,
		    char **key_pem);
/*
 * Ends a rollover: commit renames account.key.next over account.key,
 * else removes it; the directory is fsync'd. Returns 0 or -1 (logged).
 */
int		 store_account_end_next(struct store *, const char *ca,
		    int commit);

/*
 * Loads the live certificate of name. Returns 1 with malloc'd PEMs (key and
 * fullchain), 0 if there is none (or live is not a symlink: warned), -1 on
 * error (logged). Symlinked key and chain files are refused.
 */
int		 store_cert_load(struct store *, const char *name,
		    char **key_pem, char **fullchain_pem);
/*
 * Installs a new version of certificate name: writes
 * certs/<name>/<version>/{privkey,cert,chain,fullchain}.pem then points
 * "live" at it with one rename(2) (a live that is no symlink is swapped
 * out atomically and kept as live.moved-<time>). version is typically the
 * serial in hex. Returns 0 or -1 (logged); on failure the old live stays.
 */
int		 store_cert_install(struct store *, const char *name,
		    const char *version, const char *key_pem, const char *cert_pem,
		    const char *chain_pem);
/*
 * Points certificate name's live link at version, an existing version
 * directory beside it (a repair: livecheck.h judged it whole). Returns 0
 * or -1 (logged; the old link stays).
 */
int		 store_cert_relive(struct store *, const char *name,
		    const char *version);
/*
 * Removes the oldest version directories of certificate name until keep
 * are left, the live one included; never the live one, and never a
 * directory holding files renewd did not write (warned). Returns 0, or -1
 * if there is no live version to keep.
 */
int		 store_cert_prune(struct store *, const char *name,
		    unsigned keep);
/* Returns malloc'd fullchain.pem as store_cert_install writes it: cert_pem, then chain_pem. */
char		*store_fullchain(const char *cert_pem, const char *chain_pem);
/*
 * Saves certs/<name>/delivery.json (the delivery state, JSON text written
 * by the caller). Returns 0 or -1 (logged).
 */
int		 store_delivery_save(struct store *, const char *name,
		    const char *json);
/*
 * Writes into out the delivery state certs/<name>/delivery.json records
 * for serial ("delivered", "reload failed", ...). Returns 0, or -1 if
 * there is no record, it cannot be read, or it is about another serial.
 * Needs no lock: renewctl reads it too; errno tells why it was unreadable.
 */
int		 store_delivery_state(const char *state_dir, const char *name,
		    const char *serial, char *out, size_t outlen);
/*
 * Saves the key of certificate name's order in flight as
 * certs/<name>/pending.key (0600), atomically, so that a restart can
 * resume the order with it. Returns 0 or -1 (logged; the key never is).
 */
int		 store_pending_key_save(struct store *, const char *name,
		    const char *key_pem, size_t len);
/*
 * Returns certs/<name>/pending.key, malloc'd (free with
 * xfree_secret_str), or NULL if there is none (errno ENOENT) or it
 * cannot be read (errno set).
 */
char		*store_pending_key_load(struct store *, const char *name);
/*
 * Removes certs/<name>/pending.key (installed or abandoned); a missing
 * one counts as removed. Returns 0 or -1 (logged).
 */
int		 store_pending_key_remove(struct store *, const char *name);
struct sched_state;

/*
 * Saves what s says of certificate name's schedule to
 * certs/<name>/schedule.json, atomically. Returns 0 or -1 (logged).
 */
int		 store_sched_save(struct store *, const char *name,
		    const struct sched_state *s);
/* Returns what store_sched_save writes for s (malloc'd). */
char		*store_sched_text(const struct sched_state *s);
/*
 * Writes text (store_sched_text's) as certs/<name>/schedule.json,
 * atomically; safe on a worker. Returns 0 or -1 (logged).
 */
int		 store_sched_put(struct store *, const char *name,
		    const char *text);
/*
 * Loads certs/<name>/schedule.json into *s (cleared first). Returns 1 if
 * loaded, 0 if there is none (or name is not a valid name), -1 with why in
 * err if it is damaged or of an unknown version: then *s is zero and the
 * caller recomputes the schedule. Needs no lock: renewctl reads it too.
 */
int		 store_sched_load(const char *state_dir, const char *name,
		    struct sched_state *s, char *err, size_t errlen);
struct sched_holds;

/*
 * Saves CA ca's holds h that are still ahead to accounts/<ca>/holds.json,
 * atomically. Returns 0 or -1 (logged).
 */
int		 store_holds_save(struct store *, const char *ca,
		    const struct sched_holds *h);
/*
 * Loads the holds of accounts/<ca>/holds.json that are still ahead into
 * *h (cleared first). Returns 1 if loaded, 0 if there is none (or ca is
 * not a valid name), -1 with why in err (naming the file) if it is damaged
 * or of an unknown version: then *h is zero. Needs no lock: renewctl
 * reads it too.
 */
int		 store_holds_load(const char *state_dir, const char *ca,
		    struct sched_holds *h, char *err, size_t errlen);
/*
 * Writes into out why rel beneath dir (open as dfd) could not be opened or
 * made (err, an errno), naming the symlink or file that stands where a
 * directory of ours belongs: someone else put it there, and it is never
 * followed.
 */
void		 store_why_beneath(int dfd, const char *dir, const char *rel,
		    int err, char *out, size_t outlen);
/* Returns malloc'd path of state_dir/certs/<name>/live (no lock needed), NULL for a bad name. */
char		*store_cert_live_path(const char *state_dir, const char *name);

#endif
