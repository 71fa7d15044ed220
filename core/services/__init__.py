"""One async function per use case, each inside its own unit of work."""
