//! Reading dumpfiles into node trees: not written yet.
