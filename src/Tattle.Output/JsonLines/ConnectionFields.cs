using System.Text.Json;
using Tattle.Records;
using Tattle.Records.Json;

namespace Tattle.Output.JsonLines;

/// <summary>
/// The fields every message record of one connection repeats (pid, comm, conn, role, remote), kept as their JSON
/// text and written as one run: on a keep-alive connection they are the same for every request, and writing them
/// field by field was a sixth of each http record's JSON.
/// </summary>
internal static class ConnectionFields
{
    [ThreadStatic]
    private static Entry[]? t_entries;

    private sealed class Entry
    {
        public int Pid;
        public string? Comm;
        public string? Conn;
        public string? Role;
        public Endpoint? Remote;

        /// <summary>From the pid's value to the remote endpoint's closing brace.</summary>
        public byte[] Json = [];
    }

    /// <summary>Writes "pid" through "remote" of a message record into the object <paramref name="w"/> is in.</summary>
    public static void Write(Utf8JsonWriter w, MessageRecord m)
    {
        string conn = m.Conn;
        var e = ConnectionSlots.For(ref t_entries, conn);
        // Matched by instance: a connection's strings and endpoint are the same objects from record to record, and
        // a new endpoint (a host name learned) or another connection in the slot makes the text again.
        if (e.Pid != m.Pid || !ReferenceEquals(e.Comm, m.Comm) || !ReferenceEquals(e.Conn, conn)
            || !ReferenceEquals(e.Role, m.Role) || !ReferenceEquals(e.Remote, m.Remote) || e.Json.Length == 0)
        {
            e.Pid = m.Pid;
            e.Comm = m.Comm;
            e.Conn = conn;
            e.Role = m.Role;
            e.Remote = m.Remote;
            e.Json = Encode(m);
        }
        // The writer skips validation: the run goes in as the pid's raw value, and the writer puts the comma after
        // it as after any value.
        JsonFragment.Write(w, JsonNames.Pid, e.Json);
    }

    private static byte[] Encode(MessageRecord m) => JsonFragment.EncodeMembers(JsonNames.Pid, m, static (w, m) =>
    {
        w.WriteNumber(JsonNames.Pid, m.Pid);
        w.WriteString(JsonNames.Comm, m.Comm);
        w.WriteString(JsonNames.Conn, m.Conn);
        w.WriteString(JsonNames.Role, m.Role);
        JsonFields.WriteEndpoint(w, JsonNames.Remote, m.Remote);
    });
}
