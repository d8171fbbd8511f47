//go:build !unix

package regfile

// oNonblock is 0 where the platform has no O_NONBLOCK; the Stat before the
// open is the only guard there.
const oNonblock = 0
