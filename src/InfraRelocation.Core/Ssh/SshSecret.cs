namespace InfraRelocation.Core.Ssh;

/// <summary>
/// A secret (auth key, token, password) travelling to a remote command. Its ToString() masks it;
/// only Core reads the value, to write it to a command's stdin. Never put it on a command line.
/// </summary>
public sealed class SshSecret
{
    public const string MaskText = "***";
    private readonly string _value;

    public SshSecret(string value)
    {
        if (string.IsNullOrEmpty(value))
            throw new RelocationException("SshSecretEmpty", FailureKind.InvalidArgument, "A secret value cannot be empty.");
        _value = value;
    }

    internal string Reveal() => _value;

    public override string ToString() => MaskText;

    /// <summary>Replaces every occurrence of the secrets' values in <paramref name="text"/>.</summary>
    public static string Mask(string text, IEnumerable<SshSecret?> secrets)
    {
        foreach (var s in secrets)
            if (s is not null && text.Length > 0)
                text = text.Replace(s._value, MaskText, StringComparison.Ordinal);
        return text;
    }
}
