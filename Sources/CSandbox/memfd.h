/* Internal to CSandbox: shared by spawn.c and seccomp.c. */
#ifndef CSANDBOX_MEMFD_H
#define CSANDBOX_MEMFD_H

/* Rewinds a memfd written through `fd` and seals it against any change. On failure closes
 * `fd` and returns a negated errno; otherwise returns `fd`. */
int csb_memfd_seal(int fd);

#endif
