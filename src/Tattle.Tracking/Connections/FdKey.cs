namespace Tattle.Tracking.Connections;

/// <summary>A (pid, fd) as a table key.</summary>
/// <remarks>
/// The tuple's own hash runs HashCode.Combine's rounds, 2–3 % of the pipeline's CPU at one lookup per ring record;
/// a pid and an fd are small integers that spread over the table well enough with one multiply.
/// </remarks>
internal readonly record struct FdKey(int Pid, int Fd)
{
    public override int GetHashCode() => unchecked((Pid * -1640531535) ^ Fd);

    public static implicit operator FdKey((int Pid, int Fd) key) => new(key.Pid, key.Fd);
}
