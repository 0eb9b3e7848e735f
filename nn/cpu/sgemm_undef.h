// Ends one instantiation of sgemm_impl.h.
#undef SG_SFX
#undef SG_V
#undef SG_VW
#undef SG_MR
#undef SG_NR
#undef SG_ZERO
#undef SG_LOAD
#undef SG_STORE
#undef SG_SET1
#undef SG_FMA
#undef SG_MUL
#undef SG_MASK
#undef SG_MASKN
#undef SG_MASKLOAD
#undef SG_MASKSTORE
#undef SG_BF16
#undef SG_BF16V
