using System.Globalization;
using System.Text.Json;

namespace InfraRelocation.Core.Proxmox;

/// <summary>Tolerant readers: PVE sends integers as strings, booleans as 0/1/"1", sizes as floats.</summary>
internal static class ProxmoxJson
{
    public static JsonElement? Prop(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static string? Str(this JsonElement e, string name) => AsString(e.Prop(name));

    public static string? AsString(JsonElement? v) => v?.ValueKind switch
    {
        JsonValueKind.String => v.Value.GetString(),
        JsonValueKind.Number => v.Value.GetRawText(),
        JsonValueKind.True => "1",
        JsonValueKind.False => "0",
        null => null,
        _ => v.Value.GetRawText(),
    };

    public static long? Long(this JsonElement e, string name) => AsLong(e.Prop(name));

    public static long? AsLong(JsonElement? v)
    {
        switch (v?.ValueKind)
        {
            case JsonValueKind.Number:
                return v.Value.TryGetInt64(out var l) ? l : (long)v.Value.GetDouble();
            case JsonValueKind.String:
                var s = v.Value.GetString();
                if (long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p)) return p;
                if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return (long)d;
                return null;
            case JsonValueKind.True: return 1;
            case JsonValueKind.False: return 0;
            default: return null;
        }
    }

    public static double? Double(this JsonElement e, string name) => e.Prop(name) is { } v
        ? v.ValueKind == JsonValueKind.Number ? v.GetDouble()
        : double.TryParse(AsString(v), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null
        : null;

    public static bool Bool(this JsonElement e, string name) => e.Prop(name) is { } v && v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.Number => v.GetDouble() != 0,
        JsonValueKind.String => v.GetString() is "1" or "true" or "True",
        _ => false,
    };
}
