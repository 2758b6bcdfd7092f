/* Test-only switches of the VR core.
 *
 * Built only when VR_BUG_SWITCHES is defined (the simulator's checker tests
 * compile their own copy of vr.c that way): each switch re-introduces a
 * deliberate protocol bug so a test can assert that the simulator's checkers
 * catch it.  Production builds contain none of this.
 */
#ifndef RECALL_SERVER_VR_INTERNAL_H
#define RECALL_SERVER_VR_INTERNAL_H

#ifdef VR_BUG_SWITCHES
/* View change picks the longest log, ignoring last_normal (trap 2). */
extern int vr_bug_longest_log;
/* Backups answer PREPARE_OK before their entries are durable, and the
 * primary counts its own copy before it is durable. */
extern int vr_bug_early_ack;
#endif

#endif
