"""Clients for a TF Serving that serves an export of this project (REST on 8501, gRPC on 8500).

    RestClient("localhost:8501", "deblur").deblur_encoded([png_bytes]) -> [png_bytes]
    GrpcClient("localhost:8500", "deblur").deblur_encoded([png_bytes]) -> [png_bytes]

Both call the `serving_default` signature: encoded images in (`images_bytes`), deblurred PNGs out
(`deblurred_bytes`). REST carries bytes as {"b64": ...}; TF Serving base64-encodes outputs whose
name ends in `_bytes`.
"""

import base64
import json
import urllib.error
import urllib.request


class RestClient:
    def __init__(self, server, model_name, timeout_s=600):
        self.url = f"http://{server}/v1/models/{model_name}:predict"
        self.timeout_s = timeout_s

    def request_body(self, images):
        return json.dumps(
            {
                "signature_name": "serving_default",
                "instances": [
                    {"images_bytes": {"b64": base64.b64encode(data).decode("ascii")}}
                    for data in images
                ],
            }
        ).encode("utf-8")

    def deblur_encoded(self, images):
        request = urllib.request.Request(
            self.url, data=self.request_body(images), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise ValueError(
                f"TF Serving at {self.url} refused the request: "
                f"{error.read().decode(errors='replace')}"
            ) from error
        except urllib.error.URLError as error:
            raise ConnectionError(
                f"cannot reach TF Serving at {self.url}: {error.reason}"
            ) from error
        return [base64.b64decode(p["b64"] if isinstance(p, dict) else p) for p in _outputs(body)]


def _outputs(body):
    # Row format answers {"predictions": [{"b64": ...}, ...]} for a single named output.
    if not isinstance(body, dict) or not isinstance(body.get("predictions"), list):
        raise ValueError(
            f"the server's answer has no predictions (is it TF Serving's REST API?): "
            f"{json.dumps(body)[:200]}"
        )
    predictions = body["predictions"]
    return [
        p["deblurred_bytes"] if isinstance(p, dict) and "deblurred_bytes" in p else p
        for p in predictions
    ]


class GrpcClient:
    def __init__(self, server, model_name, timeout_s=600):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.channel = grpc.insecure_channel(
            server,
            options=[
                ("grpc.max_send_message_length", 1 << 30),
                ("grpc.max_receive_message_length", 1 << 30),
            ],
        )
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.model_name, self.timeout_s = model_name, timeout_s

    def request(self, images):
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = "serving_default"
        request.inputs["images_bytes"].CopyFrom(tf.make_tensor_proto(list(images), dtype=tf.string))
        return request

    def deblur_encoded(self, images):
        import tensorflow as tf

        response = self.stub.Predict(self.request(images), timeout=self.timeout_s)
        return list(tf.make_ndarray(response.outputs["deblurred_bytes"]))
