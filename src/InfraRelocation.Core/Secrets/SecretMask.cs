using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace InfraRelocation.Core.Secrets;

/// <summary>
/// The one place secrets are masked. Every secret the process holds (a Proxmox token secret, password or ticket,
/// the mesh auth key, any credential a command was given) is registered here the moment it exists — the secret
/// types (<see cref="Proxmox.ProxmoxSecret"/>, <see cref="Ssh.SshSecret"/>) do it in their constructors — and every
/// text that leaves the process passes through <see cref="Mask(string)"/>: the cmdlet streams and error records
/// (the cmdlet base class), receipts before they reach the ledger, report files. A secret a server echoes back in an
/// error reason is therefore masked wherever that reason travels. Registration lasts for the process (a session's
/// later commands may show an earlier error), which masks a superset of what the current run holds.
/// See docs/design/secret-masking.md.
/// </summary>
public static class SecretMask
{
    /// <summary>What replaces a secret.</summary>
    public const string MaskText = "********";

    /// <summary>Shorter values are not masked: masking two letters everywhere would garble every message.</summary>
    public const int MinimumLength = 4;

    // value -> the forms it can take in text (as is, JSON-escaped, URL-encoded).
    private static readonly ConcurrentDictionary<string, string[]> s_secrets = new(StringComparer.Ordinal);
    private static volatile string[] s_forms = [];

    private static readonly JsonSerializerOptions s_json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>True when at least one secret is registered (outputs need no scan otherwise).</summary>
    public static bool Any => s_forms.Length > 0;

    /// <summary>Registers a secret so that every outgoing text masks it; returns the value.</summary>
    public static string Register(string? value)
    {
        if (value is null || value.Length < MinimumLength)
        {
            return value ?? "";
        }
        if (s_secrets.TryAdd(value, [value, JsonEncodedText.Encode(value).ToString(), Uri.EscapeDataString(value)]))
        {
            // Longest first, so a secret that contains another is masked whole.
            s_forms = s_secrets.Values.SelectMany(f => f).Distinct(StringComparer.Ordinal).OrderByDescending(f => f.Length).ToArray();
        }
        return value;
    }

    /// <summary>True when <paramref name="text"/> contains a registered secret in any of its forms.</summary>
    public static bool Contains(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        foreach (var form in s_forms)
        {
            if (text.Contains(form, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary><paramref name="text"/> with every registered secret replaced by <see cref="MaskText"/>.</summary>
    public static string Mask(string text)
    {
        if (!Contains(text))
        {
            return text;
        }
        foreach (var form in s_forms)
        {
            text = text.Replace(form, MaskText, StringComparison.Ordinal);
        }
        return text;
    }

    /// <summary>Null-preserving <see cref="Mask(string)"/>.</summary>
    public static string? MaskOrNull(string? text) => text is null ? null : Mask(text);

    /// <summary>
    /// An output object with every secret in its text masked: strings directly, other objects through their JSON
    /// form (only when that form holds a secret; the object is rebuilt from the masked JSON). An object that holds
    /// a secret but cannot be rebuilt is replaced by its masked JSON text, never passed on as it is.
    /// </summary>
    public static object? MaskObject(object? value)
    {
        if (value is null || !Any)
        {
            return value;
        }
        if (value is string text)
        {
            return Mask(text);
        }
        var type = value.GetType();
        if (type.IsPrimitive || type.IsEnum || value is decimal or DateTime or DateTimeOffset or Guid or TimeSpan)
        {
            return value;
        }
        string json;
        try
        {
            json = JsonSerializer.Serialize(value, type, s_json);
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or JsonException or ArgumentException)
        {
            return Contains(value.ToString()) ? Mask(value.ToString()!) : value;
        }
        if (!Contains(json))
        {
            return value;
        }
        var masked = Mask(json);
        try
        {
            return JsonSerializer.Deserialize(masked, type, s_json) ?? masked;
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or JsonException or ArgumentException)
        {
            return masked;
        }
    }

    /// <summary>Masks a typed value through its JSON form (receipts); returns it unchanged when it holds no secret.</summary>
    public static T MaskRecord<T>(T value) where T : class => MaskObject(value) as T ?? value;
}
