package sample

// mayChange marks the current evaluation as one whose answer may change as more
// request bytes arrive (HAProxy's SMP_F_MAY_CHANGE).
func mayChange(Txn) {}
