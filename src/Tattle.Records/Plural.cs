namespace Tattle.Records;

/// <summary>A count with its noun in the singular or the plural, for the lines people read ("1 process", "2 processes").</summary>
public static class Plural
{
    public static string Count(long n, string one, string many) => $"{n} {(n == 1 ? one : many)}";
}
