package dev.berth.maven;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugins.annotations.Parameter;
import org.codehaus.plexus.interpolation.EnvarBasedValueSource;
import org.codehaus.plexus.interpolation.InterpolationException;
import org.codehaus.plexus.interpolation.PrefixedObjectValueSource;
import org.codehaus.plexus.interpolation.PropertiesBasedValueSource;
import org.codehaus.plexus.interpolation.RegexBasedInterpolator;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** Goals that send a spec file: an AppSpec (YAML or JSON) or a Compose file, with Maven properties filled in. */
public abstract class SpecMojo extends AbstractBerthMojo {
  /** The AppSpec or Compose file. */
  @Parameter(property = "berth.spec", defaultValue = "${project.basedir}/src/main/berth/app.yaml")
  protected File spec;

  /** appspec, compose, or auto (a file whose name has "compose" in it is Compose; otherwise an AppSpec). */
  @Parameter(property = "berth.format", defaultValue = "auto")
  protected String format;

  /** The spec as sent: content type, body, and the query string. */
  protected record Document(String contentType, String body, String query, String appName) {}

  protected Document document() throws MojoExecutionException, IOException {
    if (!spec.isFile()) throw new MojoExecutionException("no Berth spec at " + spec);
    String text = interpolate(Files.readString(spec.toPath(), StandardCharsets.UTF_8));
    boolean compose = "compose".equals(format) || ("auto".equals(format) && spec.getName().toLowerCase().contains("compose"));
    StringBuilder query = new StringBuilder();
    if (compose) {
      if (app != null) query.append("name=").append(URLEncoder.encode(app, StandardCharsets.UTF_8));
      return new Document("application/yaml", text, query.toString(), app);
    }
    Object parsed = new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
    if (!(parsed instanceof Map<?, ?> map)) throw new MojoExecutionException(spec + " is not an AppSpec (a mapping with name and services)");
    @SuppressWarnings("unchecked")
    Map<String, Object> appSpec = (Map<String, Object>) map;
    if (app != null) appSpec.put("name", app);
    String name = String.valueOf(appSpec.get("name"));
    if (app == null) app = name;
    return new Document("application/json", new ObjectMapper().writeValueAsString(appSpec), "", name);
  }

  /** ${...} filled in from the project (project.version, …), its properties, -D user properties and env.*, as Maven filters resources. */
  private String interpolate(String text) throws MojoExecutionException {
    RegexBasedInterpolator interpolator = new RegexBasedInterpolator();
    interpolator.addValueSource(new PropertiesBasedValueSource(session.getUserProperties()));
    interpolator.addValueSource(new PrefixedObjectValueSource(java.util.List.of("project.", "pom."), project, true));
    interpolator.addValueSource(new PropertiesBasedValueSource(project.getProperties()));
    interpolator.addValueSource(new PropertiesBasedValueSource(session.getSystemProperties()));
    try {
      interpolator.addValueSource(new EnvarBasedValueSource());
      return interpolator.interpolate(text);
    } catch (IOException | InterpolationException e) {
      throw new MojoExecutionException("could not fill in " + spec + ": " + e.getMessage(), e);
    }
  }

  protected static String with(String path, String query, String more) {
    String q = query.isEmpty() ? more : more.isEmpty() ? query : query + "&" + more;
    return q.isEmpty() ? path : path + "?" + q;
  }

  protected static String seg(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  protected static String describe(JsonNode node) {
    return node.isMissingNode() || node.isNull() ? "" : node.toString();
  }
}
