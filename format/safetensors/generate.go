package safetensors

//go:generate go run ./internal/gen testdata
