using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tattle.Sandbox;

/// <summary>
/// --policy FILE: the allowlist as YAML (<c>allow: [entries]</c>, or a bare list) or as plain lines, one
/// HOST|CIDR[:PORT] a line, <c>#</c> starting a comment.
/// </summary>
public static class PolicyFile
{
    /// <summary>Reads the entries of the file; throws <see cref="SandboxException"/> with the reason.</summary>
    public static IReadOnlyList<string> Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException($"--policy {path}: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>The entries of a policy's text: YAML when it is a mapping or a list, otherwise lines.</summary>
    public static IReadOnlyList<string> Parse(string text, string path)
    {
        YamlNode? root = null;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            root = stream.Documents.FirstOrDefault()?.RootNode;
        }
        catch (YamlException)
        {
            // Not YAML: a file of plain lines (an entry like 10.0.0.0/8:80 can trip the YAML reader).
        }
        if (root is YamlMappingNode map)
        {
            var unknown = map.Children.Keys.Select(k => k.ToString()).Where(k => k != "allow").ToList();
            if (unknown.Count > 0)
            {
                throw new SandboxException($"--policy {path}: unknown key '{unknown[0]}' (the policy has one key: allow)");
            }
            return map.Children.TryGetValue(new YamlScalarNode("allow"), out var allow) ? Entries(allow, path) : [];
        }
        if (root is YamlSequenceNode)
        {
            return Entries(root, path);
        }
        return text.Split('\n').Select(l => (l.Contains('#') ? l[..l.IndexOf('#')] : l).Trim()).Where(l => l.Length > 0).ToList();
    }

    private static List<string> Entries(YamlNode node, string path) => node switch
    {
        YamlSequenceNode list => list.Children.Select(c => c is YamlScalarNode { Value: { } v } ? v.Trim()
            : throw new SandboxException($"--policy {path}: every allow entry must be a plain HOST|CIDR[:PORT] string")).ToList(),
        YamlScalarNode { Value: { Length: > 0 } v } => [v.Trim()],
        YamlScalarNode => [], // "allow:" with nothing: nothing is allowed (but DNS)
        _ => throw new SandboxException($"--policy {path}: allow must be a list of HOST|CIDR[:PORT]"),
    };
}
