using System.Globalization;
using System.Text.RegularExpressions;

namespace InfraRelocation.Core.Proxmox;

/// <summary>
/// A Proxmox task id: <c>UPID:node:pid:pstart:starttime:type:id:user:</c> (9 colon-separated fields,
/// the last empty). Always poll the task on <see cref="Node"/>.
/// </summary>
public sealed partial record Upid(string Node, int Pid, long PStart, DateTimeOffset StartTime, string Type, string Id, string User)
{
    [GeneratedRegex(@"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9a-fA-F]{8}):([0-9a-fA-F]{8,9}):([0-9a-fA-F]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$")]
    private static partial Regex Pattern();

    /// <summary>The original text.</summary>
    public string Text { get; private init; } = "";

    public static bool TryParse(string? text, out Upid? upid)
    {
        upid = null;
        if (text is null) return false;
        var m = Pattern().Match(text.Trim());
        if (!m.Success) return false;
        static long Hex(string s) => long.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        upid = new Upid(m.Groups[1].Value, (int)Hex(m.Groups[3].Value), Hex(m.Groups[4].Value),
            DateTimeOffset.FromUnixTimeSeconds(Hex(m.Groups[5].Value)), m.Groups[6].Value, m.Groups[7].Value, m.Groups[8].Value)
        { Text = text.Trim() };
        return true;
    }

    public static Upid Parse(string text) =>
        TryParse(text, out var upid) ? upid! : throw new RelocationException("ProxmoxUpidInvalid", FailureKind.InvalidData,
            $"'{text}' is not a Proxmox task id (UPID:node:pid:pstart:starttime:type:id:user:).", target: text);

    public override string ToString() => Text;
}
