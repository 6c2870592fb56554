using System.Text.RegularExpressions;

namespace Tattle.Tests.Support;

/// <summary>
/// Guards the test sources: a test that cannot run must be skipped (counted in the summary) or, under CI=true,
/// fail; it must never return early and be counted as passed.
/// </summary>
public partial class HonestTestsTests
{
    [GeneratedRegex(@"^[ \t]*\[(Fact|Theory|SkippableFact|SkippableTheory)\b[^\n]*$", RegexOptions.Multiline)]
    private static partial Regex TestAttribute();

    // An if whose whole body is "return;", optionally after printing why: the shape of a silent pass.
    [GeneratedRegex(@"^\s*if\s*\((?<cond>[^{]*)\)\s*\{\s*(?:[\w.]+\.WriteLine\([^;]*\);\s*)*return;\s*(?://[^\n]*)?\s*\}")]
    private static partial Regex LeadingEarlyReturn();

    [GeneratedRegex(@"\bRequires\.\w+\(|\bReady\(\);")]
    private static partial Regex RequiresCall();

    /// <summary>Each test method: file, attribute name, method body (or expression).</summary>
    internal static IEnumerable<(string File, string Attribute, string Name, string Body)> TestMethods(string source, string file)
    {
        foreach (Match m in TestAttribute().Matches(source))
        {
            if (Method(source, m.Index + m.Length) is { } method)
            {
                yield return (file, m.Groups[1].Value, method.Name, method.Body);
            }
        }
    }

    private static (string Name, string Body)? Method(string s, int from)
    {
        // Skip further attributes and comments to the signature, then take the braced body (or the => expression).
        int pos = from;
        while (pos < s.Length)
        {
            int eol = s.IndexOf('\n', pos + 1);
            if (eol < 0)
            {
                return null;
            }
            string line = s[(pos + 1)..eol].Trim();
            if (line.Length == 0 || line.StartsWith('[') || line.StartsWith("//", StringComparison.Ordinal))
            {
                pos = eol;
                continue;
            }
            string name = Regex.Match(line, @"(\w+)\s*\(").Groups[1].Value;
            if (line.Contains("=>", StringComparison.Ordinal))
            {
                int end = s.IndexOf(';', pos + 1);
                return (name, s[(pos + 1)..end]);
            }
            int open = s.IndexOf('{', pos + 1);
            int depth = 0;
            for (int i = open; i < s.Length; i++)
            {
                depth += s[i] == '{' ? 1 : s[i] == '}' ? -1 : 0;
                if (depth == 0)
                {
                    return (name, s[(open + 1)..i]);
                }
            }
            return null;
        }
        return null;
    }

    private static IEnumerable<(string File, string Attribute, string Name, string Body)> AllTestMethods() =>
        Directory.EnumerateFiles(Path.Combine(Repo.Root, "tests"), "*.cs", SearchOption.AllDirectories)
            // This file holds the rejected shapes as a fixture.
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal)
                && Path.GetFileName(f) != "HonestTestsTests.cs")
            .SelectMany(f => TestMethods(File.ReadAllText(f), Path.GetRelativePath(Repo.Root, f)));

    [Fact]
    public void NoTestStartsWithAnEarlyReturn()
    {
        var methods = AllTestMethods().ToList();
        Assert.True(methods.Count > 300, $"found only {methods.Count} test methods: the scan is broken");
        var silent = methods.Where(t => LeadingEarlyReturn().IsMatch(t.Body))
            .Select(t => $"{t.File}: {t.Name} returns early (call Requires.* and make it [Skippable{t.Attribute}])");
        Assert.Empty(silent);
    }

    [Fact]
    public void EveryTestThatCallsRequires_IsSkippable()
    {
        // A SkipException in a plain [Fact] is reported as a failure, not as a skip.
        var plain = AllTestMethods().Where(t => !t.Attribute.StartsWith("Skippable", StringComparison.Ordinal) && RequiresCall().IsMatch(t.Body))
            .Select(t => $"{t.File}: {t.Name} calls Requires but is [{t.Attribute}]");
        Assert.Empty(plain);
    }

    [Fact]
    public void TheScanRecognisesTheShapesItRejects()
    {
        const string source = """
            public class X
            {
                [Fact]
                public void A()
                {
                    if (!File.Exists("/x"))
                    {
                        output.WriteLine("SKIPPED: no /x");
                        return;
                    }
                    Assert.True(true);
                }

                [Theory]
                [InlineData(1)]
                public void B(int n)
                {
                    if (!Requires.Program(output, "cc"))
                    {
                        return; // not here
                    }
                }

                [Fact]
                public void C() => Assert.True(true);

                [SkippableFact]
                public void D()
                {
                    Requires.RootAndBpf(output);
                    if (x)
                    {
                        return;
                    }
                }
            }
            """;
        var methods = TestMethods(source, "x.cs").ToList();
        Assert.Equal(["A", "B", "C", "D"], methods.Select(m => m.Name));
        Assert.Equal([true, true, false, false], methods.Select(m => LeadingEarlyReturn().IsMatch(m.Body)));
        Assert.Equal([false, true, false, true], methods.Select(m => RequiresCall().IsMatch(m.Body)));
    }
}
