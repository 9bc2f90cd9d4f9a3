namespace InfraRelocation.Core.Ssh;

/// <summary>
/// A secret (auth key, token, password) travelling to a remote command. Its ToString() masks it;
/// only Core reads the value, to write it to a command's stdin. Never put it on a command line.
/// </summary>
public sealed class SshSecret
{
    public const string MaskText = Secrets.SecretMask.MaskText;
    private readonly string _value;

    public SshSecret(string value)
    {
        if (string.IsNullOrEmpty(value))
            throw new RelocationException("SshSecretEmpty", FailureKind.InvalidArgument, "A secret value cannot be empty.");
        _value = Secrets.SecretMask.Register(value);
    }

    internal string Reveal() => _value;

    public override string ToString() => MaskText;

    /// <summary>
    /// <paramref name="text"/> with every known secret masked (<see cref="Secrets.SecretMask"/>; the secrets given
    /// are registered there already, as every secret is).
    /// </summary>
    public static string Mask(string text, IEnumerable<SshSecret?> secrets) => Secrets.SecretMask.Mask(text);
}
