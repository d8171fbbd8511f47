package gguf

//go:generate go run ./internal/gen testdata
