//! Writing node trees as dumpfiles: not written yet.
