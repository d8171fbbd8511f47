package lifecycle

import "io"

// readAtMost reads until buf is full or EOF and returns how much it read.
func readAtMost(r io.Reader, buf []byte) (int, error) {
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return n, err
}
