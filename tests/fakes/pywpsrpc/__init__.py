"""A stand-in for pywpsrpc, WPS Office's RPC bindings: the calls and constants the harness
uses, with the checks a real WPS would impose (an X display, an accepted EULA, existing
absolute paths, known format constants), writing a one-page PDF or a minimal package."""
