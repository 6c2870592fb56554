/* The probed function of bench/probe/run.sh: small enough that the probe's cost is all that is measured. */
int bench_add(int a, int b)
{
    return a + b;
}
