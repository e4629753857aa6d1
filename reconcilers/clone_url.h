/* clone_url: the git URL a Coolify application is built from, made from the clone URLs Gitea
 * hands out, in the forms Coolify accepts.
 *
 * Gitea gives clone_url = ROOT_URL + owner/repo.git, and ssh_url = git@HOST:owner/repo.git,
 * or ssh://git@HOST:PORT/owner/repo.git when its SSH port is not 22 (models/repo/repo.go
 * ComposeSSHCloneURL). Coolify validates git_repository (app/Rules/ValidGitRepositoryUrl.php):
 * https://, http://, git:// or git@host:path only (no ssh:// URI), no IP or internal host in
 * an HTTP URL, no query, fragment or shell metacharacter; a custom SSH port it takes inside
 * the scp-like form, git@HOST:PORT/owner/repo.git, and splits back before cloning
 * (ApplicationDeploymentJob). A URL Coolify refuses, or one whose host cannot be Gitea as seen
 * from Coolify's builder (an IP address, localhost, *.local), is reported, never sent. */
#ifndef VIBN_CLONE_URL_H
#define VIBN_CLONE_URL_H

/* Returns a new string: the URL Coolify is to clone gitea_url from (an ssh_url when ssh is
 * set, else a clone_url), with its host replaced by host when host is not NULL
 * (VIBN_GITEA_CLONE_HOST). NULL with a one-line *cause (new) when Coolify would refuse it or
 * its host is internal. */
char *clone_url_for_coolify(const char *gitea_url, int ssh, const char *host, char **cause);

/* Checks a VIBN_GITEA_CLONE_HOST value: a DNS name (letters, digits, '.', '-'), not an IP
 * address, localhost or *.local. 0, or -1 with *cause (new). */
int clone_url_check_host(const char *host, char **cause);

#endif
