/* Wine 8 has no ProcessPrng in bcryptprimitives.dll, which Rust's standard library
 * imports for randomness (HashMap seeds). This stand-in forwards it to RtlGenRandom
 * (advapi32's SystemFunction036), which Wine does have. Built with mingw by
 * .ci/windows-tests and loaded only there, by WINEDLLOVERRIDES. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
