/* A stand-in for the macOS SDK's TargetConditionals.h, for `cargo clippy --target
 * *-apple-darwin` on Linux. ring's C code includes it only to learn which Apple platform
 * it builds for; nothing is linked, so these few macros are all it needs. Not for
 * building binaries: that takes the real SDK (the release workflow builds on macOS). */
#ifndef TOK_CI_TARGET_CONDITIONALS_H
#define TOK_CI_TARGET_CONDITIONALS_H
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_TV 0
#define TARGET_OS_SIMULATOR 0
#define TARGET_OS_EMBEDDED 0
#endif
